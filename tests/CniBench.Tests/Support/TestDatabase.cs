using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace CniBench.Tests.Support;

/// <summary>
/// A fresh, empty results database of either backend: a SQLite file in a temp folder, or a new
/// PostgreSQL database on the server named by $CNIBENCH_TEST_POSTGRES (which .ci/run starts), dropped afterwards.
/// </summary>
public sealed class TestDatabase : IDisposable
{
    public const string PostgresVariable = "CNIBENCH_TEST_POSTGRES";
    private readonly TempDirectory? _dir;
    private readonly string? _adminConnection;
    private readonly string? _databaseName;

    public string Backend { get; }
    public string Db { get; }

    private TestDatabase(string backend, string db, TempDirectory? dir, string? admin, string? name)
    {
        Backend = backend;
        Db = db;
        _dir = dir;
        _adminConnection = admin;
        _databaseName = name;
    }

    public static TheoryData<string> Backends => new() { "sqlite", "postgres" };

    /// <summary>A fresh database of the backend; the test is skipped, with the reason, where the backend is not
    /// available.</summary>
    public static TestDatabase CreateOrSkip(string backend)
    {
        if (backend == "sqlite")
        {
            var dir = new TempDirectory();
            return new TestDatabase(backend, dir.File("results.db"), dir, null, null);
        }
        var admin = Environment.GetEnvironmentVariable(PostgresVariable);
        if (string.IsNullOrEmpty(admin))
            Assert.Skip(
                $"PostgreSQL: ${PostgresVariable} is not set; .ci/run installs and starts PostgreSQL and sets it"
            );
        var name = "cnibench_test_" + Guid.NewGuid().ToString("N")[..12];
        using (var connection = new NpgsqlConnection(admin))
        {
            connection.Open();
            using var create = connection.CreateCommand();
            create.CommandText = $"CREATE DATABASE {name}";
            create.ExecuteNonQuery();
        }
        var db = new NpgsqlConnectionStringBuilder(admin) { Database = name, Pooling = false }.ConnectionString;
        return new TestDatabase(backend, db, null, admin, name);
    }

    /// <summary>Runs raw SQL against the database, behind the store's back (to fake a newer or foreign
    /// schema).</summary>
    public void Execute(string sql)
    {
        using DbConnection connection =
            Backend == "sqlite" ? new SqliteConnection($"Data Source={Db};Pooling=False") : new NpgsqlConnection(Db);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public object? Scalar(string sql)
    {
        using DbConnection connection =
            Backend == "sqlite" ? new SqliteConnection($"Data Source={Db};Pooling=False") : new NpgsqlConnection(Db);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public void Dispose()
    {
        _dir?.Dispose();
        if (_adminConnection is null)
            return;
        using var connection = new NpgsqlConnection(_adminConnection);
        connection.Open();
        using var drop = connection.CreateCommand();
        drop.CommandText = $"DROP DATABASE IF EXISTS {_databaseName} WITH (FORCE)";
        drop.ExecuteNonQuery();
    }
}
