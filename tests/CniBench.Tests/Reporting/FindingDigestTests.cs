using CniBench.Cli.Analysis;
using CniBench.Cli.Reporting;
using CniBench.Cli.Results;
using CniBench.Contracts.Measurement;
using CniBench.Tests.Support;

namespace CniBench.Tests.Reporting;

[Trait(Category.Name, Category.Unit)]
public class FindingDigestTests
{
    [Fact]
    public void The_same_warning_over_many_cases_is_one_line_with_the_count_the_worst_figure_and_the_cases()
    {
        var results = new List<CaseResult>();
        foreach (var name in new[] { "tcp-rr", "tcp-crr", "udp-rr", "http", "probe" })
            for (int rep = 1; rep <= 2; rep++)
            {
                var r = Results.Case("r", name, rep, 1000 + rep, [1]);
                results.Add(
                    r with
                    {
                        Metrics = new Dictionary<string, double>(r.Metrics)
                        {
                            [Metrics.OtherProcessesCpuPercent] = name == "udp-rr" ? 80 : 30,
                        },
                        BusiestOtherProcesses = [new ProcessShare("dpkg", 25), new ProcessShare("cc1", 5)],
                    }
                );
            }
        var summaries = CaseSummary.From(results);
        var findings = Analysers.Run(summaries, results, new Dictionary<string, string> { ["cpu.count"] = "2" });
        Assert.Equal(5, findings.Count(f => f.Code == "busy-host"));
        var digest = FindingDigest.Of(findings, summaries, results);
        var busy = Assert.Single(digest, d => d.Code == "busy-host");
        Assert.Equal(
            "machine busy in 5/5 cases: other processes up to 80% of a core (dpkg, cc1) (tcp-rr, tcp-crr, udp-rr and 2 "
                + "more)",
            busy.Line
        );
        var few = Assert.Single(digest, d => d.Code == "few-repetitions");
        Assert.StartsWith("no interval (fewer than 3 repetitions) in 5/5 cases", few.Line);
        // Warnings before notes.
        Assert.True(digest.ToList().IndexOf(busy) < digest.ToList().IndexOf(few));
    }
}
