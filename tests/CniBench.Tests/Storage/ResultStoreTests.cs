using CniBench.Cli.Running;
using CniBench.Cli.Storage;
using CniBench.Tests.Support;
using Microsoft.Data.Sqlite;

namespace CniBench.Tests.Storage;

public class ResultStoreTests
{
    [Fact]
    public void Runs_and_results_round_trip_through_sqlite()
    {
        using var dir = new TempDirectory();
        var path = dir.File("r.db");
        using (var store = ResultStore.Open(path))
        {
            store.CreateRun(Results.Run());
            store.SaveResult(Results.Case("run-1", "tcp-rr", 1, 1000, [1000, 2000]));
            store.SaveResult(Results.Case("run-1", "tcp-rr", 2, 1100, [1500]));
            store.FinishRun("run-1", RunState.Interrupted, DateTimeOffset.Parse("2026-11-22T10:05:00Z"));
        }
        using var reopened = ResultStore.Open(path);
        var run = Assert.Single(reopened.ListRuns());
        Assert.Equal(RunState.Interrupted, run.State);
        Assert.Equal("Test CPU <fast>", run.Environment["cpu.model"]);
        var results = reopened.Results("run-1");
        Assert.Equal([1, 2], results.Select(r => r.Repetition));
        Assert.Equal(1100, results[1].Metrics[CniBench.Contracts.Measurement.Metrics.TransactionsPerSecond]);
        Assert.Equal(2, results[0].Client.Result!.Latency.Count);
        Assert.Equal(2, reopened.CountResults("run-1"));
    }

    [Fact]
    public void The_schema_is_versioned_and_indexed_columns_are_filled()
    {
        using var dir = new TempDirectory();
        var path = dir.File("v.db");
        using (var store = ResultStore.Open(path))
        {
            store.CreateRun(Results.Run());
            store.SaveResult(Results.Case("run-1", "tcp-rr", 1, 1000, [1000]));
        }
        using var raw = new SqliteConnection($"Data Source={path};Pooling=False");
        raw.Open();
        using var cmd = raw.CreateCommand();
        cmd.CommandText = "SELECT (SELECT user_version FROM pragma_user_version), case_name, workload, state, config FROM results";
        using var reader = cmd.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal(ResultStore.SchemaVersion, reader.GetInt64(0));
        Assert.Equal(("tcp-rr", "tcp-rr", "ok", "default"), (reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4)));
    }

    [Fact]
    public void A_file_that_is_not_a_database_is_refused_in_one_clear_line()
    {
        using var dir = new TempDirectory();
        var path = dir.File("corrupt.db");
        File.WriteAllText(path, "this is not sqlite, just some text long enough to be read as a header........................................");
        var e = Assert.Throws<StoreException>(() => ResultStore.Open(path));
        Assert.Contains("not a CniBench database", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void A_newer_schema_or_a_foreign_database_is_refused()
    {
        using var dir = new TempDirectory();
        var newer = dir.File("newer.db");
        using (ResultStore.Open(newer)) { }
        Execute(newer, "PRAGMA user_version = 99");
        var e = Assert.Throws<StoreException>(() => ResultStore.Open(newer));
        Assert.Contains("schema version 99 is newer than this cnibench supports (1)", e.Message);

        var foreign = dir.File("foreign.db");
        Execute(foreign, "CREATE TABLE invoices (id INTEGER)");
        Assert.Contains("not a CniBench database", Assert.Throws<StoreException>(() => ResultStore.Open(foreign)).Message);
    }

    private static void Execute(string path, string sql)
    {
        using var c = new SqliteConnection($"Data Source={path};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
