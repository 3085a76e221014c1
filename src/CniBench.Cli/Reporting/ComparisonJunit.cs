using System.Globalization;
using System.Xml.Linq;
using CniBench.Cli.Analysis;

namespace CniBench.Cli.Reporting;

/// <summary>
/// A comparison as JUnit XML, the format CI systems (GitLab, Jenkins, GitHub test reporters) show
/// natively: one test case per case and metric, a failure for each significant regression, a skip
/// for each inconclusive metric (too few repetitions to test).
/// </summary>
public static class ComparisonJunit
{
    public static string Write(
        string baseline,
        string candidate,
        double thresholdPercent,
        IReadOnlyList<MetricComparison> comparisons
    )
    {
        var inv = CultureInfo.InvariantCulture;
        var suite = new XElement(
            "testsuite",
            new XAttribute("name", $"cnibench compare {candidate} against {baseline}"),
            new XAttribute("tests", comparisons.Count),
            new XAttribute("failures", comparisons.Count(c => c.Verdict == Verdict.Regression)),
            new XAttribute("skipped", comparisons.Count(c => c.Verdict == Verdict.Inconclusive)),
            new XAttribute("errors", 0),
            new XElement(
                "properties",
                Property("baseline", baseline),
                Property("candidate", candidate),
                Property("threshold.percent", thresholdPercent.ToString(inv)),
                Property("alpha", Comparison.Alpha.ToString(inv))
            )
        );
        foreach (var c in comparisons)
        {
            var testCase = new XElement(
                "testcase",
                new XAttribute("classname", c.Case),
                new XAttribute("name", c.Metric)
            );
            string detail =
                $"{Format.MeanWithInterval(c.Metric, c.Baseline)} → {Format.MeanWithInterval(c.Metric, c.Candidate)} "
                + $"({ComparisonMarkdown.Delta(c.DeltaPercent)}, {c.Change}, p {ComparisonMarkdown.P(c.PValue)})";
            if (c.Verdict == Verdict.Regression)
                testCase.Add(
                    new XElement(
                        "failure",
                        new XAttribute("message", $"regression: {detail}"),
                        new XAttribute("type", "regression"),
                        detail
                    )
                );
            else if (c.Verdict == Verdict.Inconclusive)
                testCase.Add(
                    new XElement(
                        "skipped",
                        new XAttribute("message", $"inconclusive, fewer than two repetitions on a side: {detail}")
                    )
                );
            else
                testCase.Add(
                    new XElement(
                        "system-out",
                        $"{(c.Verdict == Verdict.Improvement ? "improvement" : "no change")}: {detail}"
                    )
                );
            suite.Add(testCase);
        }
        suite.Add(new XElement("system-out", Comparison.VerdictLine(comparisons)));
        var document = new XDocument(new XDeclaration("1.0", "utf-8", null), new XElement("testsuites", suite));
        using var writer = new Utf8StringWriter();
        document.Save(writer);
        // The verdict line closes every output of compare, this one too (as a comment, so the XML stays valid).
        return writer + $"\n<!-- {Comparison.VerdictLine(comparisons)} -->\n";
    }

    private static XElement Property(string name, string value) =>
        new("property", new XAttribute("name", name), new XAttribute("value", value));

    private sealed class Utf8StringWriter : StringWriter
    {
        public Utf8StringWriter()
            : base(CultureInfo.InvariantCulture) { }

        public override System.Text.Encoding Encoding => new System.Text.UTF8Encoding(false);
    }
}
