using System.Text.RegularExpressions;
using CniBench.Cli.Storage;
using CniBench.Tests.Support;

namespace CniBench.Tests.Cli;

/// <summary>`runs show` in a real pseudo-terminal (util-linux script) of 80 and 160 columns: the summary fits the
/// width and no number is split over two lines.</summary>
[Trait(Category.Name, Category.Integration)]
public partial class TerminalWidthTests
{
    [GeneratedRegex(@"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\a]*\a")]
    private static partial Regex Escapes();

    [Theory]
    [InlineData(80)]
    [InlineData(160)]
    public async Task The_summary_fits_the_terminal(int columns)
    {
        if (!File.Exists("/usr/bin/script"))
            Assert.Skip("util-linux script is not installed: no pseudo-terminal to test in");
        using var dir = new TempDirectory();
        using (var store = ResultStore.Open(dir.File("cnibench.db")))
        {
            store.CreateRun(Results.Run("run-w"));
            foreach (var name in new[] { "tcp-stream-receive/mtu=9000,placement=pod-to-pod-cross-node", "tls-crr" })
                for (int rep = 1; rep <= 3; rep++)
                    store.SaveResult(Results.Case("run-w", name, rep, 1_234_567 + 1000 * rep, [20_000]));
        }
        var cli = Path.Combine(AppContext.BaseDirectory, "cnibench");
        var (code, stdout, stderr) = await ChildProcess.RunAsync(
            "/usr/bin/script",
            dir.Path,
            TimeSpan.FromSeconds(60),
            "-qec",
            $"stty cols {columns} rows 50; {cli} runs show run-w --db {dir.File("cnibench.db")}",
            "/dev/null"
        );
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        var lines = Escapes().Replace(stdout, "").Replace("\r", "").Split('\n');
        Assert.All(lines, l => Assert.True(l.TrimEnd().Length <= columns, $"{l.Length} > {columns}: {l}"));
        Assert.Contains(lines, l => l.Contains("1,236,567 tx/s"));
        Assert.Contains(lines, l => l.Contains("tls-crr"));
    }
}
