using System.Globalization;

namespace CniBench.Cli.Charts;

public sealed record LinePoint(double X, double Y);

public sealed record LineSeries(string Name, IReadOnlyList<LinePoint> Points);

/// <summary>
/// Lines with their data points (time series, percentile spectra, split ratios per window,
/// convergence timelines). Optional: a dashed reference line (e.g. the configured weight) and
/// category labels on the x axis instead of numbers.
/// </summary>
public static class LineChart
{
    public static string Render(
        string title,
        string xTitle,
        string yTitle,
        IReadOnlyList<LineSeries> series,
        double? reference = null,
        string? referenceLabel = null,
        IReadOnlyList<(double X, string Label)>? xLabels = null,
        bool yFromZero = true
    )
    {
        var svg = Svg.Begin("line-chart", title, xTitle, yTitle, series.Select(s => s.Name).ToList());
        var points = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        double xMin = points.Count == 0 ? 0 : points.Min(p => p.X),
            xMax = points.Count == 0 ? 1 : points.Max(p => p.X);
        if (xMax <= xMin)
            xMax = xMin + 1;
        double yMax = Math.Max(points.Count == 0 ? 1 : points.Max(p => p.Y), reference ?? double.MinValue);
        double yMin = yFromZero
            ? 0
            : Math.Min(points.Count == 0 ? 0 : points.Min(p => p.Y), reference ?? double.MaxValue);
        var y = Svg.ValueAxis(svg, yMin, yMax <= yMin ? yMin + 1 : yMax);
        double X(double v) => Svg.Left + (v - xMin) / (xMax - xMin) * Svg.PlotWidth;

        foreach (
            var (value, label) in xLabels
                ?? Svg.Ticks(xMin, xMax).Where(t => t >= xMin && t <= xMax).Select(t => (t, Svg.Label(t))).ToList()
        )
            svg.Append(
                CultureInfo.InvariantCulture,
                $"<text x=\"{Svg.N(X(value))}\" y=\"{Svg.Top + Svg.PlotHeight + 18}\" "
                    + $"text-anchor=\"middle\">{Svg.E(label)}</text>"
            );

        if (reference is double r)
        {
            svg.Append(
                CultureInfo.InvariantCulture,
                $"<line class=\"reference\" x1=\"{Svg.Left}\" x2=\"{Svg.Left + Svg.PlotWidth}\" y1=\"{Svg.N(y(r))}\" "
                    + $"y2=\"{Svg.N(y(r))}\" stroke=\"#444\" stroke-dasharray=\"6 4\"/>"
            );
            if (referenceLabel is not null)
                svg.Append(
                    CultureInfo.InvariantCulture,
                    $"<text x=\"{Svg.Left + Svg.PlotWidth - 4}\" y=\"{Svg.N(y(r) - 5)}\" text-anchor=\"end\" "
                        + $"fill=\"#444\">{Svg.E(referenceLabel)}</text>"
                );
        }

        for (int i = 0; i < series.Count; i++)
        {
            var valid = series[i].Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
            if (valid.Count == 0)
                continue;
            var path = string.Join(
                "",
                valid.Select((p, k) => $"{(k == 0 ? "M" : "L")}{Svg.N(X(p.X))} {Svg.N(y(p.Y))}")
            );
            svg.Append(
                CultureInfo.InvariantCulture,
                $"<g class=\"series\" data-series=\"{Svg.E(series[i].Name)}\"><path d=\"{path}\" fill=\"none\" "
                    + $"stroke=\"{Svg.Color(i)}\" stroke-width=\"2\"/>"
            );
            foreach (var p in valid)
                svg.Append(
                    CultureInfo.InvariantCulture,
                    $"<circle class=\"point\" data-x=\"{Svg.N(p.X)}\" data-y=\"{Svg.N(p.Y)}\" cx=\"{Svg.N(X(p.X))}\" "
                        + $"cy=\"{Svg.N(y(p.Y))}\" r=\"3\" "
                        + $"fill=\"{Svg.Color(i)}\"><title>"
                        + $"{Svg.E($"{series[i].Name}: {Svg.Label(p.X)}, {Svg.Label(p.Y)}")}</title></circle>"
                );
            svg.Append("</g>");
        }
        return Svg.End(svg);
    }
}
