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
        IReadOnlyList<string>? pooling = null
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
                + $"{Comparison.Alpha.ToString(CultureInfo.InvariantCulture)} (Welch's t-test; latency percentiles on "
                + $"their logarithms)."
        );
        md.AppendLine();
        md.AppendLine("| case | metric | baseline | candidate | delta | change | p | verdict |");
        md.AppendLine("|---|---|---:|---:|---:|---|---:|---|");
        foreach (var c in comparisons)
        {
            md.AppendLine(
                CultureInfo.InvariantCulture,
                $"| {c.Case} | {c.Metric} | {Format.MeanWithCi(c.Metric, c.Baseline)} | "
                    + $"{Format.MeanWithCi(c.Metric, c.Candidate)} | {Delta(c.DeltaPercent)} | {c.Change} | "
                    + $"{P(c.PValue)} | {Name(c.Verdict)} |"
            );
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
            Verdict.Inconclusive => "inconclusive (n < 2)",
            _ => "no change",
        };
}
