using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace CniBench.Cli.Storage;

/// <summary>
/// What differs between the SQLite file and a team's PostgreSQL: how to connect, where the schema
/// version lives, and the one column type that differs. Tables and queries are shared.
/// </summary>
public abstract class StoreSchema
{
    public const int Version = 2;

    /// <summary>The tables; {id} is the auto-increment key column, which each database spells its own way.</summary>
    protected const string Tables = """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY, suite TEXT NOT NULL, target TEXT NOT NULL, config TEXT NOT NULL,
            started_at TEXT NOT NULL, finished_at TEXT, state TEXT NOT NULL,
            environment TEXT NOT NULL, scenario TEXT NOT NULL,
            controller_host TEXT, controller_pid INTEGER, controller_start BIGINT, heartbeat_at TEXT, error TEXT);
        CREATE TABLE results (
            {id}, run_id TEXT NOT NULL REFERENCES runs(id),
            case_name TEXT NOT NULL, workload TEXT NOT NULL, config TEXT NOT NULL, repetition INTEGER NOT NULL,
            target TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL, state TEXT NOT NULL,
            document TEXT NOT NULL);
        CREATE INDEX ix_results_run ON results(run_id);
        CREATE INDEX ix_results_case ON results(case_name, config);
        CREATE INDEX ix_results_config ON results(config);
        """;

    /// <summary>From version 1: who runs a run, its heartbeat and why it failed (so a dead controller's run reads
    /// abandoned).</summary>
    protected const string Version2 = """
        ALTER TABLE runs ADD COLUMN controller_host TEXT;
        ALTER TABLE runs ADD COLUMN controller_pid INTEGER;
        ALTER TABLE runs ADD COLUMN controller_start BIGINT;
        ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
        ALTER TABLE runs ADD COLUMN error TEXT;
        """;

    /// <summary>The name shown in messages (never a password).</summary>
    public abstract string DisplayName { get; }

    public abstract DbConnection Connect();

    /// <summary>Creates the schema in an empty database, accepts ours at this version, refuses anything else.</summary>
    public abstract void Ensure(DbConnection connection);

    public static StoreSchema For(string db) =>
        PostgresSchema.Accepts(db) ? new PostgresSchema(db) : new SqliteSchema(db);

    protected static long Scalar(DbConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        var value = command.ExecuteScalar();
        return value is null or DBNull ? 0 : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    protected static void Execute(DbConnection connection, DbTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    protected StoreException Newer(long version) =>
        new(
            $"{DisplayName}: schema version {version} is newer than this cnibench supports ({Version}); use a newer "
                + $"cnibench or another --db"
        );

    protected StoreException Foreign(string what) =>
        new($"{DisplayName}: not a CniBench database ({what}); use another --db");
}

/// <summary>A local file; the version is PRAGMA user_version and the file is marked as ours by PRAGMA
/// application_id.</summary>
public sealed class SqliteSchema(string path) : StoreSchema
{
    private const long ApplicationId = 0x434E4231; // "CNB1"

    public override string DisplayName => path;

    public override DbConnection Connect() =>
        new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());

    public override void Ensure(DbConnection connection)
    {
        long version = Scalar(connection, "PRAGMA user_version");
        long application = Scalar(connection, "PRAGMA application_id");
        if (Scalar(connection, "SELECT count(*) FROM sqlite_master") > 0 && application != ApplicationId)
            throw Foreign("it holds other tables");
        if (version > Version)
            throw Newer(version);
        if (version == Version)
            return;
        using var tx = connection.BeginTransaction();
        Execute(
            connection,
            tx,
            version == 1
                ? Version2
                : Tables.Replace("{id}", "id INTEGER PRIMARY KEY AUTOINCREMENT", StringComparison.Ordinal)
        );
        Execute(connection, tx, $"PRAGMA application_id = {ApplicationId}; PRAGMA user_version = {Version};");
        tx.Commit();
    }
}

/// <summary>
/// A team's shared history: postgres://user:password@host:5432/database URLs or Npgsql connection
/// strings (Host=...;Username=...). The version lives in a cnibench_schema table.
/// </summary>
public sealed class PostgresSchema(string db) : StoreSchema
{
    private readonly NpgsqlConnectionStringBuilder _builder = Parse(db);

    public static bool Accepts(string db) =>
        db.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
        || db.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
        || db.Contains("Host=", StringComparison.OrdinalIgnoreCase);

    public override string DisplayName =>
        $"postgres://{_builder.Username}@{_builder.Host}:{_builder.Port}/{_builder.Database}";

    public override DbConnection Connect() => new NpgsqlConnection(_builder.ConnectionString);

    private static NpgsqlConnectionStringBuilder Parse(string db)
    {
        if (!db.Contains("://", StringComparison.Ordinal))
        {
            try
            {
                return new NpgsqlConnectionStringBuilder(db);
            }
            catch (ArgumentException e)
            {
                throw new StoreException(
                    $"--db: not a PostgreSQL connection string ({e.Message}); allowed: "
                        + $"postgres://user:password@host:5432/database or Host=...;Username=...;Database=..."
                );
            }
        }
        if (!Uri.TryCreate(db, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            throw new StoreException(
                "--db: not a PostgreSQL URL; allowed: postgres://user:password@host:5432/database"
            );
        var user = uri.UserInfo.Split(':', 2);
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.Port > 0 ? uri.Port : 5432,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.Trim('/')) is { Length: > 0 } name ? name : "postgres",
            Username = Uri.UnescapeDataString(user[0]),
        };
        if (user.Length > 1)
            builder.Password = Uri.UnescapeDataString(user[1]);
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            if (
                kv[0].Equals("sslmode", StringComparison.OrdinalIgnoreCase)
                && kv.Length == 2
                && Enum.TryParse<SslMode>(kv[1], true, out var mode)
            )
                builder.SslMode = mode;
        }
        return builder;
    }

    public override void Ensure(DbConnection connection)
    {
        bool ours =
            Scalar(
                connection,
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name "
                    + "= 'cnibench_schema'"
            ) > 0;
        if (!ours)
        {
            if (
                Scalar(
                    connection,
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND "
                        + "table_name IN ('runs', 'results')"
                ) > 0
            )
                throw Foreign("it has runs/results tables that are not ours");
            using var tx = connection.BeginTransaction();
            Execute(connection, tx, Tables.Replace("{id}", "id BIGSERIAL PRIMARY KEY", StringComparison.Ordinal));
            Execute(
                connection,
                tx,
                $"CREATE TABLE cnibench_schema (version INTEGER NOT NULL); INSERT INTO cnibench_schema VALUES "
                    + $"({Version});"
            );
            tx.Commit();
            return;
        }
        long version = Scalar(connection, "SELECT max(version) FROM cnibench_schema");
        if (version > Version)
            throw Newer(version);
        if (version == Version)
            return;
        using var upgrade = connection.BeginTransaction();
        Execute(connection, upgrade, Version2);
        Execute(connection, upgrade, $"UPDATE cnibench_schema SET version = {Version};");
        upgrade.Commit();
    }
}
