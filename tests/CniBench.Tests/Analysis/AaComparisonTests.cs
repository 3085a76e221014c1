using CniBench.Cli.Analysis;
using CniBench.Contracts.Measurement;
using CniBench.Tests.Support;
using MathNet.Numerics.Distributions;

namespace CniBench.Tests.Analysis;

/// <summary>
/// A/A: both sides drawn from one distribution. At the default threshold a verdict (regression or improvement) must
/// come no more often than the test's nominal 5%, for shapes a benchmark meets (normal, log-normal, heavy-tailed) and
/// the repetition counts users run (3..10) — and a real change must still be found, or the test would pass a
/// comparison that never calls anything.
/// </summary>
[Trait(Category.Name, Category.Unit)]
public class AaComparisonTests
{
    private const int Trials = 2000;

    public static TheoryData<string> Shapes() => ["normal", "log-normal", "student-t3", "pareto"];

    private static Func<double> Draw(string shape, Random random) =>
        shape switch
        {
            "normal" => () => Normal.Sample(random, 10_000, 800),
            "log-normal" => () => LogNormal.Sample(random, Math.Log(10_000), 0.15),
            // Heavy tails, kept positive as rates are.
            "student-t3" => () => Math.Max(1, 10_000 + 600 * StudentT.Sample(random, 0, 1, 3)),
            _ => () => 9_000 * Pareto.Sample(random, 1, 6),
        };

    private static double[] Sample(Func<double> draw, int n) => Enumerable.Range(0, n).Select(_ => draw()).ToArray();

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Same_distribution_on_both_sides_reads_as_a_change_at_most_at_the_nominal_rate(string shape)
    {
        var random = new Random(shape.GetHashCode(StringComparison.Ordinal) ^ 7919);
        var draw = Draw(shape, random);
        foreach (bool withDrift in new[] { true, false })
        {
            int verdicts = 0;
            for (int trial = 0; trial < Trials; trial++)
            {
                int n = 3 + trial % 8;
                var a = MetricStatistics.Of(Sample(draw, n), nonNegative: true);
                var b = MetricStatistics.Of(Sample(draw, n), nonNegative: true);
                var drift = withDrift ? new RunDrift(Comparison.DefaultDriftPercent) : RunDrift.None;
                var verdict = Comparison.CompareOne("c", Metrics.TransactionsPerSecond, a, b, 5, drift: drift).Verdict;
                if (verdict is Verdict.Regression or Verdict.Improvement)
                    verdicts++;
            }
            double rate = (double)verdicts / Trials;
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"A/A {shape}, drift {(withDrift ? "10%" : "none")}, threshold 5%: {verdicts}/{Trials} verdicts "
                    + $"({rate:P2})"
            );
            // Nominal 5%, plus three standard errors of a 2,000-trial estimate.
            Assert.True(
                rate <= Comparison.Alpha + 3 * Math.Sqrt(Comparison.Alpha * (1 - Comparison.Alpha) / Trials),
                $"{shape}, drift {withDrift}: {rate:P1} false verdicts"
            );
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void A_real_change_is_still_found(string shape)
    {
        var random = new Random(shape.GetHashCode(StringComparison.Ordinal) ^ 104729);
        var draw = Draw(shape, random);
        int found = 0;
        for (int trial = 0; trial < Trials / 4; trial++)
        {
            var a = MetricStatistics.Of(Sample(draw, 5), nonNegative: true);
            // Half the rate: what a broken dataplane, not drift, does.
            var b = MetricStatistics.Of(Sample(draw, 5).Select(v => v / 2).ToArray(), nonNegative: true);
            var c = Comparison.CompareOne(
                "c",
                Metrics.TransactionsPerSecond,
                a,
                b,
                5,
                drift: new RunDrift(Comparison.DefaultDriftPercent)
            );
            if (c.Verdict == Verdict.Regression)
                found++;
        }
        Assert.True(found >= Trials / 4 * 0.8, $"{shape}: {found} of {Trials / 4} halvings found");
    }

    /// <summary>A compare judges every metric of every case at once: twelve metrics at 5% each would call a change
    /// in about half of all A/A pairs. The table as a whole must stay at the nominal rate, and a halving among
    /// eleven unchanged metrics must still be called, in most tables.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void A_whole_table_of_unchanged_metrics_reads_as_a_change_at_most_at_the_nominal_rate(string shape)
    {
        const int Tables = 1000,
            MetricsPerTable = 12;
        var random = new Random(shape.GetHashCode(StringComparison.Ordinal) ^ 31337);
        var draw = Draw(shape, random);
        MetricComparison Compare(int metric, double factor) =>
            Comparison.CompareOne(
                $"case-{metric}",
                Metrics.TransactionsPerSecond,
                MetricStatistics.Of(Sample(draw, 5), nonNegative: true),
                MetricStatistics.Of(Sample(draw, 5).Select(v => v * factor).ToArray(), nonNegative: true),
                5
            );
        int falseTables = 0,
            perMetricFalseTables = 0,
            halvingsFound = 0;
        for (int table = 0; table < Tables; table++)
        {
            var same = Enumerable.Range(0, MetricsPerTable).Select(m => Compare(m, 1)).ToArray();
            perMetricFalseTables += same.Any(c => c.Verdict is Verdict.Regression or Verdict.Improvement) ? 1 : 0;
            falseTables += Comparison.FamilyWise(same).Any(c => c.Verdict is Verdict.Regression or Verdict.Improvement)
                ? 1
                : 0;
            var withHalving = Comparison.FamilyWise([.. same[1..], Compare(0, 0.5)]);
            halvingsFound += withHalving[^1].Verdict == Verdict.Regression ? 1 : 0;
        }
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"A/A tables of {MetricsPerTable} metrics, {shape}: {perMetricFalseTables}/{Tables} with a false verdict "
                + $"metric by metric, {falseTables}/{Tables} held to the table; halvings found {halvingsFound}/{Tables}"
        );
        double rate = (double)falseTables / Tables;
        Assert.True(
            rate <= Comparison.Alpha + 3 * Math.Sqrt(Comparison.Alpha * (1 - Comparison.Alpha) / Tables),
            $"{shape}: {rate:P1} of A/A tables called a change"
        );
        // Heavy tails and five repetitions cost some power (pareto: three in four); still most halvings are called.
        Assert.True(halvingsFound >= Tables * 0.7, $"{shape}: {halvingsFound}/{Tables} halvings found");
        var held = Comparison.FamilyWise([.. Enumerable.Range(0, MetricsPerTable).Select(m => Compare(m, 1))]);
        Assert.All(held.Where(c => c.Verdict == Verdict.Inconclusive && c.Reason!.Contains("Holm")), c =>
            Assert.InRange(c.PValue, 0, Comparison.Alpha)
        );
    }

    [Fact]
    public void Drift_between_two_runs_is_inconclusive_not_a_change_and_more_runs_per_side_can_separate_it()
    {
        // Tight repetitions, 16% apart: what two quiet runs of the same code read minutes apart.
        var a = MetricStatistics.Of([20_364.0, 20_067, 20_290], nonNegative: true);
        var b = MetricStatistics.Of([23_690.0, 23_350, 23_600], nonNegative: true);
        var single = Comparison.CompareOne(
            "udp-rr",
            Metrics.TransactionsPerSecond,
            a,
            b,
            5,
            drift: new RunDrift(Comparison.DefaultDriftPercent)
        );
        Assert.Equal(Verdict.Inconclusive, single.Verdict);
        Assert.Contains("drift", single.Reason);
        // The repetitions alone would have called it.
        Assert.Equal(
            Verdict.Improvement,
            Comparison.CompareOne("udp-rr", Metrics.TransactionsPerSecond, a, b, 5).Verdict
        );
        // Eight runs a side average drift out enough to call it.
        Assert.Equal(
            Verdict.Improvement,
            Comparison
                .CompareOne("udp-rr", Metrics.TransactionsPerSecond, a, b, 5, drift: new RunDrift(10, 8, 8))
                .Verdict
        );
    }

    /// <summary>A halving between two runs is a regression on a quiet machine; when other processes took the
    /// machine on one side, the agents got what was left and the halving may be theirs.</summary>
    [Fact]
    public void A_change_measured_while_other_processes_took_the_machine_is_inconclusive()
    {
        CaseSummary Side(string config, double tps, double others) =>
            CaseSummary
                .From(
                    Enumerable
                        .Range(1, 5)
                        .Select(i =>
                        {
                            var r = Results.Case("r-" + config, "tcp-crr", i, tps + 10 * i, [1]) with
                            {
                                Config = config,
                            };
                            return r with
                            {
                                Metrics = new Dictionary<string, double>(r.Metrics)
                                {
                                    [Metrics.OtherProcessesCpuPercent] = others,
                                },
                            };
                        })
                )
                .Single();
        var quiet = Comparison.Compare([Side("a", 8000, 2)], [Side("b", 4000, 3)], 5);
        Assert.Equal(Verdict.Regression, quiet.Single(c => c.Metric == Metrics.TransactionsPerSecond).Verdict);

        var busy = Comparison
            .Compare([Side("a", 8000, 2)], [Side("b", 4000, 160)], 5)
            .Single(c => c.Metric == Metrics.TransactionsPerSecond);
        Assert.Equal(Verdict.Inconclusive, busy.Verdict);
        Assert.StartsWith("the machine was busy on the candidate (other processes up to 160% of a core)", busy.Reason);
    }

    [Fact]
    public void Environment_metrics_are_never_judged_but_shown_when_they_differ()
    {
        CaseSummary Side(string config, double others) =>
            CaseSummary
                .From(
                    Enumerable
                        .Range(1, 3)
                        .Select(i =>
                        {
                            var r = Results.Case("r-" + config, "http-open", i, 2000 + i, [1]) with { Config = config };
                            return r with
                            {
                                Metrics = new Dictionary<string, double>(r.Metrics)
                                {
                                    [Metrics.OtherProcessesCpuPercent] = others + i,
                                },
                            };
                        })
                )
                .Single();
        var b = Side("a", 3);
        var c = Side("b", 22);
        var verdicts = Comparison.Compare([b], [c], 5);
        Assert.DoesNotContain(verdicts, v => Metrics.Describe(v.Metric).Role == MetricRole.Environment);
        Assert.Contains(Comparison.EnvironmentDifferences([b], [c], 5), e =>
            e.Metric == Metrics.OtherProcessesCpuPercent
        );
        // The catalogue says which is which, for every metric.
        Assert.Equal(MetricRole.Environment, Metrics.Describe(Metrics.CooldownSeconds).Role);
        Assert.Equal(MetricRole.Environment, Metrics.Describe(Metrics.ClientTimeWait).Role);
        Assert.Equal(MetricRole.Performance, Metrics.Describe(Metrics.AgentsCpuPer100kTps).Role);
        Assert.Equal(MetricRole.Performance, Metrics.Describe(Metrics.ConvergenceP99Ms).Role);
    }
}
