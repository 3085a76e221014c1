using CniBench.Cli.Results;
using CniBench.Cli.Storage;
using CniBench.Tests.Support;

namespace CniBench.Tests.Storage;

/// <summary>The same store tests against SQLite and a real PostgreSQL server.</summary>
[Trait(Category.Name, Category.Integration)]
public class ResultStoreTests
{
    private static TestDatabase Database(string backend) => TestDatabase.CreateOrSkip(backend);

    [Theory]
    [MemberData(nameof(TestDatabase.Backends), MemberType = typeof(TestDatabase))]
    public void Runs_and_results_round_trip(string backend)
    {
        using var db = Database(backend);
        using (var store = ResultStore.Open(db.Db))
        {
            store.CreateRun(Results.Run());
            store.SaveResult(Results.Case("run-1", "tcp-rr", 1, 1000, [1000, 2000]));
            store.SaveResult(Results.Case("run-1", "tcp-rr", 2, 1100, [1500]) with { Config = "other" });
            store.FinishRun(
                "run-1",
                RunState.Interrupted,
                DateTimeOffset.Parse("2026-11-22T10:05:00Z", System.Globalization.CultureInfo.InvariantCulture)
            );
        }
        using var reopened = ResultStore.Open(db.Db);
        var run = Assert.Single(reopened.ListRuns());
        Assert.Equal(RunState.Interrupted, run.State);
        Assert.Equal(
            DateTimeOffset.Parse("2026-11-22T10:05:00Z", System.Globalization.CultureInfo.InvariantCulture),
            run.FinishedAt
        );
        Assert.Equal("Test CPU <fast>", run.Environment["cpu.model"]);
        var results = reopened.Results("run-1");
        Assert.Equal([1, 2], results.Select(r => r.Repetition));
        Assert.Equal(1100, results[1].Metrics[CniBench.Contracts.Measurement.Metrics.TransactionsPerSecond]);
        Assert.Equal(2, results[0].Client.Result!.Latency.Count);
        Assert.Equal(2, reopened.CountResults("run-1"));
        Assert.Equal(["default", "other"], reopened.ConfigLabels());
        Assert.Equal(2, Assert.Single(reopened.ResultsForConfig("other")).Repetition);
        Assert.DoesNotContain(reopened.ListRuns(), r => r.Id == "nope");
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Backends), MemberType = typeof(TestDatabase))]
    public void The_schema_is_versioned_and_indexed_columns_are_filled(string backend)
    {
        using var db = Database(backend);
        using (var store = ResultStore.Open(db.Db))
        {
            store.CreateRun(Results.Run());
            store.SaveResult(Results.Case("run-1", "tcp-rr", 1, 1000, [1000]));
        }
        var version = db.Scalar(backend == "sqlite" ? "PRAGMA user_version" : "SELECT version FROM cnibench_schema");
        Assert.Equal(
            ResultStore.SchemaVersion,
            Convert.ToInt32(version, System.Globalization.CultureInfo.InvariantCulture)
        );
        Assert.Equal(
            "tcp-rr|tcp-rr|ok|default",
            db.Scalar("SELECT case_name || '|' || workload || '|' || state || '|' || config FROM results")
        );
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Backends), MemberType = typeof(TestDatabase))]
    public void A_newer_schema_is_refused(string backend)
    {
        using var db = Database(backend);
        using (ResultStore.Open(db.Db)) { }
        db.Execute(backend == "sqlite" ? "PRAGMA user_version = 99" : "UPDATE cnibench_schema SET version = 99");
        var e = Assert.Throws<StoreException>(() => ResultStore.Open(db.Db));
        Assert.Contains("schema version 99 is newer than this cnibench supports (2)", e.Message);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Backends), MemberType = typeof(TestDatabase))]
    public void A_foreign_database_is_refused(string backend)
    {
        using var db = Database(backend);
        db.Execute("CREATE TABLE runs (id INTEGER)");
        Assert.Contains(
            "not a CniBench database",
            Assert.Throws<StoreException>(() => ResultStore.Open(db.Db)).Message
        );
    }

    [Fact]
    public void A_file_that_is_not_a_database_is_refused_in_one_clear_line()
    {
        using var dir = new TempDirectory();
        var path = dir.File("corrupt.db");
        File.WriteAllText(path, new string('x', 4096));
        var e = Assert.Throws<StoreException>(() => ResultStore.Open(path));
        Assert.Contains("not a CniBench database", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void An_unreachable_or_malformed_postgres_address_is_one_clear_line_without_the_password()
    {
        var unreachable = Assert.Throws<StoreException>(() =>
            ResultStore.Open("postgres://me:secret@127.0.0.1:1/results")
        );
        Assert.StartsWith("postgres://me@127.0.0.1:1/results: cannot", unreachable.Message);
        Assert.DoesNotContain("secret", unreachable.Message);
        Assert.Contains(
            "not a PostgreSQL",
            Assert.Throws<StoreException>(() => ResultStore.Open("Host=x;Nonsense=1")).Message
        );
    }
}
