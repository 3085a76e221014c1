using System.Globalization;
using System.Text;
using CniBench.Cli.Analysis;

namespace CniBench.Cli.Reporting;

/// <summary>A comparison as Markdown, to paste into a pull request.</summary>
public static class ComparisonMarkdown
{
    public static string Write(string baseline, string candidate, double thresholdPercent, IReadOnlyList<MetricComparison> comparisons)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"## CniBench: `{candidate}` against `{baseline}`");
        md.AppendLine();
        int regressions = comparisons.Count(c => c.Verdict == Verdict.Regression), improvements = comparisons.Count(c => c.Verdict == Verdict.Improvement);
        md.AppendLine(CultureInfo.InvariantCulture, $"{regressions} regression(s), {improvements} improvement(s) beyond {Format.Number(thresholdPercent, 1)}% at p < {Comparison.Alpha.ToString(CultureInfo.InvariantCulture)} (Welch's t-test).");
        md.AppendLine();
        md.AppendLine("| case | metric | baseline | candidate | delta | change | p | verdict |");
        md.AppendLine("|---|---|---:|---:|---:|---|---:|---|");
        foreach (var c in comparisons)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {c.Case} | {c.Metric} | {Format.MeanWithCi(c.Metric, c.Baseline)} | {Format.MeanWithCi(c.Metric, c.Candidate)} | {Delta(c.DeltaPercent)} | {c.Change} | {P(c.PValue)} | {Name(c.Verdict)} |");
        }
        return md.ToString();
    }

    public static string Delta(double percent) =>
        double.IsInfinity(percent) || double.IsNaN(percent) ? "–" : (percent >= 0 ? "+" : "") + Format.Number(percent, 1) + "%";

    public static string P(double p) => double.IsNaN(p) ? "–" : p < 0.001 ? "<0.001" : Format.Number(p, 3);

    public static string Name(Verdict v) => v switch
    {
        Verdict.Regression => "**regression**",
        Verdict.Improvement => "improvement",
        Verdict.Inconclusive => "inconclusive (n < 2)",
        _ => "no change",
    };
}
