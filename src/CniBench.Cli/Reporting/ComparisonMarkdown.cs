using System.Globalization;
using System.Text;
using CniBench.Cli.Analysis;

namespace CniBench.Cli.Reporting;

/// <summary>A comparison as Markdown, to paste into a pull request.</summary>
public static class ComparisonMarkdown
{
    public static string Write(
        string baseline,
        string candidate,
        double thresholdPercent,
        IReadOnlyList<MetricComparison> comparisons,
        IReadOnlyList<string>? pooling = null,
        IReadOnlyList<string>? environment = null
    )
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"## CniBench: `{candidate}` against `{baseline}`");
        md.AppendLine();
        foreach (var line in pooling ?? [])
            md.AppendLine(CultureInfo.InvariantCulture, $"- {line}");
        if (pooling is { Count: > 0 })
            md.AppendLine();
        md.AppendLine(
            CultureInfo.InvariantCulture,
            $"A change counts beyond {Format.Number(thresholdPercent, 1)}% at p < "
                + $"{Comparison.Alpha.ToString(CultureInfo.InvariantCulture)} (Welch's t-test with run-to-run drift "
                + $"counted; latency percentiles on their logarithms). Environment metrics are shown, not judged."
        );
        md.AppendLine();
        md.AppendLine("| case | metric | baseline | candidate | delta | change | p | verdict |");
        md.AppendLine("|---|---|---:|---:|---:|---|---:|---|");
        foreach (var c in comparisons)
        {
            md.AppendLine(
                CultureInfo.InvariantCulture,
                $"| {c.Case} | {c.Metric} | {Format.MeanWithInterval(c.Metric, c.Baseline)} | "
                    + $"{Format.MeanWithInterval(c.Metric, c.Candidate)} | {Delta(c.DeltaPercent)} | {c.Change} | "
                    + $"{P(c.PValue)} | {Name(c.Verdict)} |"
            );
        }
        md.AppendLine();
        foreach (var reason in comparisons.Select(x => x.Reason).OfType<string>().Distinct())
            md.AppendLine(CultureInfo.InvariantCulture, $"Inconclusive: {reason}.");
        if (environment is { Count: > 0 })
        {
            md.AppendLine();
            md.AppendLine("Environment differed (shown, not judged):");
            md.AppendLine();
            foreach (var line in environment)
                md.AppendLine(CultureInfo.InvariantCulture, $"- {line}");
        }
        md.AppendLine();
        md.AppendLine(Comparison.VerdictLine(comparisons));
        return md.ToString();
    }

    public static string Delta(double percent) =>
        double.IsInfinity(percent) || double.IsNaN(percent)
            ? "–"
            : (percent >= 0 ? "+" : "") + Format.Number(percent, 1) + "%";

    public static string P(double p) =>
        double.IsNaN(p) ? "–"
        : p < 0.001 ? "<0.001"
        : Format.Number(p, 3);

    public static string Name(Verdict v) =>
        v switch
        {
            Verdict.Regression => "**regression**",
            Verdict.Improvement => "improvement",
            Verdict.Inconclusive => "inconclusive",
            _ => "no change",
        };
}
