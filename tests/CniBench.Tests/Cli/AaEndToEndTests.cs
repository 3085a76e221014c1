using System.Diagnostics;
using CniBench.Tests.Support;

namespace CniBench.Tests.Cli;

/// <summary>
/// The same scenario run twice on the same machine, one run after the other, and compared: no regression and no
/// improvement, on a quiet machine and with two processes keeping both cores busy. The comparison may say
/// inconclusive (drift it cannot tell from a change), never a verdict.
/// </summary>
[Trait(Category.Name, Category.Integration)]
public class AaEndToEndTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);

    private const string Scenario = """
        name: aa
        repetitions: 3
        warmup: 300ms
        duration: 1s
        cases:
          - workload: tcp-rr
          - workload: tcp-crr
          - workload: udp-rr
            requestSize: 64
            responseSize: 64
          - workload: tcp-stream
        """;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_same_code_run_twice_reads_as_no_change(bool underCpuHog)
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("aa.yaml"), Scenario);
        var hogs = new List<Process>();
        try
        {
            if (underCpuHog)
                for (int i = 0; i < Environment.ProcessorCount; i++)
                    hogs.Add(
                        Process.Start(
                            new ProcessStartInfo("sh", ["-c", "while :; do :; done"])
                            {
                                // Not the test process's stdin: it carries the test runner's protocol.
                                RedirectStandardInput = true,
                            }
                        )!
                    );
            foreach (var label in new[] { "first", "second" })
            {
                var (code, stdout, stderr) = await ChildProcess.RunAsync(
                    "cnibench",
                    dir.Path,
                    Limit,
                    "run",
                    "--file",
                    "aa.yaml",
                    "--config",
                    label,
                    "--no-report"
                );
                Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
            }
            var (compareCode, output, errors) = await ChildProcess.RunAsync(
                "cnibench",
                dir.Path,
                Limit,
                "compare",
                "-b",
                "first",
                "--candidate",
                "second",
                "--fail-on-regression"
            );
            TestContext.Current.TestOutputHelper?.WriteLine(output);
            Assert.True(compareCode == 0, $"exit {compareCode}\n{output}\n{errors}");
            var verdict = output.TrimEnd().Split('\n')[^1];
            Assert.StartsWith("0 regressions, 0 improvements, ", verdict);
            if (underCpuHog)
                Assert.Contains("machine busy", output);
        }
        finally
        {
            foreach (var hog in hogs)
            {
                hog.Kill();
                hog.Dispose();
            }
        }
    }
}
