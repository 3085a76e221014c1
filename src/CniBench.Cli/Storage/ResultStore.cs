using System.Globalization;
using System.Text.Json;
using CniBench.Cli.Running;
using Microsoft.Data.Sqlite;

namespace CniBench.Cli.Storage;

/// <summary>A database the store cannot use: not ours, corrupt, or from a newer cnibench.</summary>
public sealed class StoreException(string message) : Exception(message);

/// <summary>
/// Results in SQLite: one row per case repetition with indexed columns plus the full JSON document,
/// written the moment the case ends so an interrupted run keeps what it measured. The schema version
/// lives in PRAGMA user_version and the file is marked as ours with PRAGMA application_id.
/// </summary>
public sealed class ResultStore : IDisposable
{
    public const int SchemaVersion = 1;
    private const long ApplicationId = 0x434E4231; // "CNB1"
    private readonly SqliteConnection _connection;
    private readonly string _path;

    private ResultStore(string path, SqliteConnection connection)
    {
        _path = path;
        _connection = connection;
    }

    public static ResultStore Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        try
        {
            connection.Open();
            var store = new ResultStore(path, connection);
            store.EnsureSchema();
            return store;
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 26 or 11) // SQLITE_NOTADB, SQLITE_CORRUPT
        {
            connection.Dispose();
            throw new StoreException($"{path}: not a CniBench database (the file is not a readable SQLite database); use another --db or move the file away");
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new StoreException($"{path}: cannot open the database: {e.Message}");
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private void EnsureSchema()
    {
        long version = Scalar("PRAGMA user_version");
        long application = Scalar("PRAGMA application_id");
        long tables = Scalar("SELECT count(*) FROM sqlite_master");
        if (tables > 0 && application != ApplicationId)
            throw new StoreException($"{_path}: not a CniBench database (it holds other tables); use another --db");
        if (version > SchemaVersion)
            throw new StoreException($"{_path}: schema version {version} is newer than this cnibench supports ({SchemaVersion}); use a newer cnibench or another --db");
        if (version == SchemaVersion) return;

        using var tx = _connection.BeginTransaction();
        Execute("""
            CREATE TABLE runs (
                id TEXT PRIMARY KEY, suite TEXT NOT NULL, target TEXT NOT NULL, config TEXT NOT NULL,
                started_at TEXT NOT NULL, finished_at TEXT, state TEXT NOT NULL,
                environment TEXT NOT NULL, scenario TEXT NOT NULL);
            CREATE TABLE results (
                id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL REFERENCES runs(id),
                case_name TEXT NOT NULL, workload TEXT NOT NULL, config TEXT NOT NULL, repetition INTEGER NOT NULL,
                target TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL, state TEXT NOT NULL,
                document TEXT NOT NULL);
            CREATE INDEX ix_results_run ON results(run_id);
            CREATE INDEX ix_results_case ON results(case_name, config);
            """, tx);
        Execute($"PRAGMA application_id = {ApplicationId}; PRAGMA user_version = {SchemaVersion};", tx);
        tx.Commit();
    }

    public void CreateRun(RunRecord run)
    {
        Execute("""
            INSERT INTO runs (id, suite, target, config, started_at, finished_at, state, environment, scenario)
            VALUES ($id, $suite, $target, $config, $started, NULL, $state, $environment, $scenario)
            """, null,
            ("$id", run.Id), ("$suite", run.Suite), ("$target", run.Target), ("$config", run.Config),
            ("$started", Time(run.StartedAt)), ("$state", Enum(run.State)),
            ("$environment", JsonSerializer.Serialize(run.Environment, StoreJson.Options)), ("$scenario", run.Scenario));
    }

    public void FinishRun(string runId, RunState state, DateTimeOffset finishedAt) =>
        Execute("UPDATE runs SET state = $state, finished_at = $finished WHERE id = $id", null,
            ("$state", Enum(state)), ("$finished", Time(finishedAt)), ("$id", runId));

    public void SaveResult(CaseResult result) =>
        Execute("""
            INSERT INTO results (run_id, case_name, workload, config, repetition, target, started_at, finished_at, state, document)
            VALUES ($run, $case, $workload, $config, $rep, $target, $started, $finished, $state, $doc)
            """, null,
            ("$run", result.RunId), ("$case", result.Case), ("$workload", Contracts.Workloads.WorkloadNames.ToName(result.Workload.Kind)),
            ("$config", result.Config), ("$rep", result.Repetition), ("$target", result.Target),
            ("$started", Time(result.StartedAt)), ("$finished", Time(result.FinishedAt)), ("$state", Enum(result.State)),
            ("$doc", JsonSerializer.Serialize(result, StoreJson.Options)));

    public IReadOnlyList<RunRecord> ListRuns()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT id, suite, target, config, started_at, finished_at, state, environment, scenario FROM runs ORDER BY started_at DESC, id DESC";
        using var reader = command.ExecuteReader();
        var runs = new List<RunRecord>();
        while (reader.Read())
        {
            runs.Add(new RunRecord(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                DateTimeOffset.Parse(reader.GetString(4), CultureInfo.InvariantCulture),
                reader.IsDBNull(5) ? null : DateTimeOffset.Parse(reader.GetString(5), CultureInfo.InvariantCulture),
                JsonSerializer.Deserialize<RunState>($"\"{reader.GetString(6)}\"", StoreJson.Options),
                JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(7), StoreJson.Options) ?? new(),
                reader.GetString(8)));
        }
        return runs;
    }

    public RunRecord? FindRun(string id) => ListRuns().FirstOrDefault(r => r.Id == id);

    public IReadOnlyList<CaseResult> Results(string runId) =>
        Documents("SELECT document FROM results WHERE run_id = $key ORDER BY id", runId);

    /// <summary>Every result stored under a configuration label, across runs, oldest first.</summary>
    public IReadOnlyList<CaseResult> ResultsForConfig(string config) =>
        Documents("SELECT document FROM results WHERE config = $key ORDER BY id", config);

    public IReadOnlyList<string> ConfigLabels()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT config FROM results ORDER BY config";
        using var reader = command.ExecuteReader();
        var labels = new List<string>();
        while (reader.Read()) labels.Add(reader.GetString(0));
        return labels;
    }

    private List<CaseResult> Documents(string sql, string key)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$key", key);
        using var reader = command.ExecuteReader();
        var results = new List<CaseResult>();
        while (reader.Read())
            results.Add(JsonSerializer.Deserialize<CaseResult>(reader.GetString(0), StoreJson.Options)
                        ?? throw new StoreException($"{_path}: an empty result document for '{key}'"));
        return results;
    }

    public int CountResults(string runId) =>
        (int)Scalar("SELECT count(*) FROM results WHERE run_id = $run", ("$run", runId));

    private static string Time(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string Enum<T>(T value) => JsonSerializer.Serialize(value, StoreJson.Options).Trim('"');

    private long Scalar(string sql, params (string Name, object Value)[] parameters)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private void Execute(string sql, SqliteTransaction? tx, params (string Name, object Value)[] parameters)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        command.ExecuteNonQuery();
    }

    public void Dispose() => _connection.Dispose();
}
