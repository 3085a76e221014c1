using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using CniBench.Cli.Ownership;
using CniBench.Cli.Results;
using Microsoft.Data.Sqlite;

namespace CniBench.Cli.Storage;

/// <summary>A database the store cannot use: not ours, corrupt, or from a newer cnibench.</summary>
public sealed class StoreException(string message) : Exception(message);

/// <summary>
/// Results in SQLite (a file, the default) or PostgreSQL (a team's shared history), same schema and
/// behaviour: one row per case repetition with indexed columns plus the full JSON document, written
/// the moment the repetition ends so an interrupted run keeps what it measured.
/// </summary>
public sealed class ResultStore : IDisposable
{
    public const int SchemaVersion = StoreSchema.Version;
    private readonly DbConnection _connection;
    private readonly string _name;

    // The run's heartbeat is written from a timer while the runner saves results: one command at a time.
    private readonly Lock _gate = new();

    private ResultStore(string name, DbConnection connection, string fallbackDirectory)
    {
        _name = name;
        _connection = connection;
        FallbackDirectory = fallbackDirectory;
    }

    /// <summary>The database as messages name it (never a password).</summary>
    public string Name => _name;

    /// <summary>Where results go when this database refuses them: beside a SQLite file, else the current
    /// directory.</summary>
    public string FallbackDirectory { get; }

    /// <summary>A SQLite file path, a postgres:// URL or an Npgsql connection string.</summary>
    public static ResultStore Open(string db)
    {
        var schema = StoreSchema.For(db);
        var connection = schema.Connect();
        try
        {
            connection.Open();
            schema.Ensure(connection);
            var fallback =
                schema is SqliteSchema
                    ? Path.GetDirectoryName(Path.GetFullPath(db)) ?? "."
                    : Directory.GetCurrentDirectory();
            return new ResultStore(schema.DisplayName, connection, fallback);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 26 or 11) // SQLITE_NOTADB, SQLITE_CORRUPT
        {
            connection.Dispose();
            throw new StoreException(
                $"{schema.DisplayName}: not a CniBench database (the file is not a readable SQLite database); use "
                    + $"another --db or move the file away"
            );
        }
        catch (DbException e)
        {
            connection.Dispose();
            throw new StoreException($"{schema.DisplayName}: cannot open the database: {e.Message}");
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or TimeoutException)
        {
            connection.Dispose();
            throw new StoreException($"{schema.DisplayName}: cannot reach the database: {e.Message}");
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public void CreateRun(RunRecord run, DbTransaction? tx = null)
    {
        Execute(
            """
            INSERT INTO runs (id, suite, target, config, started_at, finished_at, state, environment, scenario,
                              controller_host, controller_pid, controller_start, heartbeat_at)
            VALUES (@id, @suite, @target, @config, @started, NULL, @state, @environment, @scenario,
                    @host, @pid, @start, @started)
            """,
            tx,
            ("@id", run.Id),
            ("@suite", run.Suite),
            ("@target", run.Target),
            ("@config", run.Config),
            ("@started", Time(run.StartedAt)),
            ("@state", Enum(run.State)),
            ("@environment", JsonSerializer.Serialize(run.Environment, StoreJson.Options)),
            ("@scenario", run.Scenario),
            ("@host", (object?)run.Controller?.Host ?? DBNull.Value),
            ("@pid", (object?)run.Controller?.Pid ?? DBNull.Value),
            ("@start", (object?)run.Controller?.StartTicks ?? DBNull.Value)
        );
    }

    /// <summary>The controller is alive: written every <see cref="ControllerProcess.HeartbeatInterval"/> while a run
    /// goes on.</summary>
    public void Heartbeat(string runId, DateTimeOffset now) =>
        Execute(
            "UPDATE runs SET heartbeat_at = @now WHERE id = @id AND state = 'running'",
            ("@now", Time(now)),
            ("@id", runId)
        );

    public void FinishRun(
        string runId,
        RunState state,
        DateTimeOffset finishedAt,
        string? error = null,
        DbTransaction? tx = null
    ) =>
        Execute(
            "UPDATE runs SET state = @state, finished_at = @finished, heartbeat_at = @finished, error = @error WHERE "
                + "id = @id",
            tx,
            ("@state", Enum(state)),
            ("@finished", Time(finishedAt)),
            ("@error", (object?)error ?? DBNull.Value),
            ("@id", runId)
        );

    /// <summary>
    /// Puts a run kept in a file (when the database refused it) into this database: the run if it is not
    /// there (or its final state if it is), and every result it does not hold yet. Returns how many results were added.
    /// </summary>
    public int Import(UnsavedRun unsaved)
    {
        lock (_gate)
        {
            var run = unsaved.Run;
            bool known = ListRuns().Any(r => r.Id == run.Id);
            var held = Results(run.Id).Select(r => (r.Case, r.Repetition)).ToHashSet();
            var missing = unsaved.Results.Where(r => !held.Contains((r.Case, r.Repetition))).ToArray();
            // Reads first: inside the transaction every command must carry it.
            using var tx = _connection.BeginTransaction();
            if (!known)
                CreateRun(run, tx);
            if (run.FinishedAt is { } finished)
                FinishRun(run.Id, run.State, finished, run.Error, tx);
            foreach (var result in missing)
                SaveResult(result, tx);
            tx.Commit();
            return missing.Length;
        }
    }

    /// <summary>Removes a run and its results; false when there is no such run.</summary>
    public bool DeleteRun(string runId)
    {
        lock (_gate)
        {
            using var tx = _connection.BeginTransaction();
            Execute("DELETE FROM results WHERE run_id = @id", tx, ("@id", runId));
            int removed = Execute("DELETE FROM runs WHERE id = @id", tx, ("@id", runId));
            tx.Commit();
            return removed > 0;
        }
    }

    public void SaveResult(CaseResult result, DbTransaction? tx = null) =>
        Execute(
            """
            INSERT INTO results (run_id, case_name, workload, config, repetition, target, started_at, finished_at,
                                 state, document)
            VALUES (@run, @case, @workload, @config, @rep, @target, @started, @finished, @state, @doc)
            """,
            tx,
            ("@run", result.RunId),
            ("@case", result.Case),
            ("@workload", Contracts.Workloads.WorkloadNames.ToName(result.Workload.Kind)),
            ("@config", result.Config),
            ("@rep", result.Repetition),
            ("@target", result.Target),
            ("@started", Time(result.StartedAt)),
            ("@finished", Time(result.FinishedAt)),
            ("@state", Enum(result.State)),
            ("@doc", JsonSerializer.Serialize(result, StoreJson.Options))
        );

    /// <summary>Every run, newest first; a run still marked running whose controller is gone reads <see
    /// cref="RunState.Abandoned"/>.</summary>
    public IReadOnlyList<RunRecord> ListRuns()
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = """
                SELECT id, suite, target, config, started_at, finished_at, state, environment, scenario,
                       controller_host, controller_pid, controller_start, heartbeat_at, error
                FROM runs ORDER BY started_at DESC, id DESC
                """;
            using var reader = command.ExecuteReader();
            var runs = new List<RunRecord>();
            var now = DateTimeOffset.UtcNow;
            while (reader.Read())
            {
                var controller = reader.IsDBNull(9)
                    ? null
                    : new Ownership.ProcessOwner(
                        reader.GetString(9),
                        Convert.ToInt32(reader.GetValue(10), CultureInfo.InvariantCulture),
                        reader.IsDBNull(11) ? 0 : Convert.ToInt64(reader.GetValue(11), CultureInfo.InvariantCulture)
                    );
                var heartbeat = reader.IsDBNull(12) ? (DateTimeOffset?)null : ParseTime(reader.GetString(12));
                var state = JsonSerializer.Deserialize<RunState>($"\"{reader.GetString(6)}\"", StoreJson.Options);
                if (state == RunState.Running && ControllerProcess.IsGone(controller, heartbeat, now))
                    state = RunState.Abandoned;
                runs.Add(
                    new RunRecord(
                        reader.GetString(0),
                        reader.GetString(1),
                        reader.GetString(2),
                        reader.GetString(3),
                        ParseTime(reader.GetString(4)),
                        reader.IsDBNull(5) ? null : ParseTime(reader.GetString(5)),
                        state,
                        JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(7), StoreJson.Options)
                            ?? new(),
                        reader.GetString(8),
                        controller,
                        heartbeat,
                        reader.IsDBNull(13) ? null : reader.GetString(13)
                    )
                );
            }
            return runs;
        }
    }

    /// <summary>
    /// A run named as people type it: its full id, `latest` (the newest), or a prefix that only one id starts with.
    /// </summary>
    public RunRecord ResolveRun(string idOrPrefix)
    {
        var runs = ListRuns();
        if (idOrPrefix == "latest")
            return runs.Count > 0 ? runs[0] : throw new StoreException("no runs stored yet; 'cnibench run' makes one");
        if (runs.FirstOrDefault(r => r.Id == idOrPrefix) is { } exact)
            return exact;
        var matches = runs.Where(r => r.Id.StartsWith(idOrPrefix, StringComparison.Ordinal)).ToArray();
        return matches.Length switch
        {
            1 => matches[0],
            0 => throw new StoreException(
                $"no run '{idOrPrefix}' in the database; 'cnibench runs list' shows the runs there"
            ),
            _ => throw new StoreException(
                $"'{idOrPrefix}' matches {matches.Length} runs "
                    + $"({string.Join(", ", matches.Take(5).Select(r => r.Id))}{(matches.Length > 5 ? ", ..." : "")}); "
                    + $"give more of the id"
            ),
        };
    }

    public IReadOnlyList<CaseResult> Results(string runId) =>
        Documents("SELECT document FROM results WHERE run_id = @key ORDER BY id", runId);

    /// <summary>Every result stored under a configuration label, across runs, oldest first.</summary>
    public IReadOnlyList<CaseResult> ResultsForConfig(string config) =>
        Documents("SELECT document FROM results WHERE config = @key ORDER BY id", config);

    public IReadOnlyList<string> ConfigLabels()
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT DISTINCT config FROM results ORDER BY config";
            using var reader = command.ExecuteReader();
            var labels = new List<string>();
            while (reader.Read())
                labels.Add(reader.GetString(0));
            return labels;
        }
    }

    private List<CaseResult> Documents(string sql, string key)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = sql;
            Add(command, "@key", key);
            using var reader = command.ExecuteReader();
            var results = new List<CaseResult>();
            while (reader.Read())
                results.Add(
                    JsonSerializer.Deserialize<CaseResult>(reader.GetString(0), StoreJson.Options)
                        ?? throw new StoreException($"{_name}: an empty result document for '{key}'")
                );
            return results;
        }
    }

    public int CountResults(string runId) =>
        (int)Scalar("SELECT count(*) FROM results WHERE run_id = @run", ("@run", runId));

    private static DateTimeOffset ParseTime(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset t) =>
        t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string Enum<T>(T value) => JsonSerializer.Serialize(value, StoreJson.Options).Trim('"');

    private long Scalar(string sql, params (string Name, object Value)[] parameters)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, value) in parameters)
                Add(command, name, value);
            return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
    }

    private int Execute(string sql, params (string Name, object Value)[] parameters) => Execute(sql, null, parameters);

    private int Execute(string sql, DbTransaction? tx, params (string Name, object Value)[] parameters)
    {
        lock (_gate)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = sql;
            command.Transaction = tx;
            foreach (var (name, value) in parameters)
                Add(command, name, value);
            return command.ExecuteNonQuery();
        }
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    public void Dispose() => _connection.Dispose();
}
