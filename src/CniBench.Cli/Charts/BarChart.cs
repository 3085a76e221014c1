using System.Globalization;

namespace CniBench.Cli.Charts;

public sealed record BarValue(string Series, double Value, double? Low = null, double? High = null);

public sealed record BarGroup(string Category, IReadOnlyList<BarValue> Bars);

/// <summary>Grouped bars (one group per category, one bar per series) with optional 95% CI error bars.</summary>
public static class BarChart
{
    public static string Render(string title, string yTitle, IReadOnlyList<BarGroup> groups, string xTitle = "")
    {
        var series = groups.SelectMany(g => g.Bars.Select(b => b.Series)).Distinct().ToList();
        var svg = Svg.Begin("bar-chart", title, xTitle, yTitle, series);
        double max = groups
            .SelectMany(g => g.Bars)
            .Select(b => Math.Max(b.Value, b.High ?? b.Value))
            .Where(double.IsFinite)
            .DefaultIfEmpty(1)
            .Max();
        var y = Svg.ValueAxis(svg, 0, max <= 0 ? 1 : max);
        double groupWidth = (double)Svg.PlotWidth / Math.Max(1, groups.Count);
        double barWidth = groupWidth * 0.8 / Math.Max(1, series.Count);
        for (int g = 0; g < groups.Count; g++)
        {
            double groupLeft = Svg.Left + g * groupWidth + groupWidth * 0.1;
            foreach (var bar in groups[g].Bars.Where(b => double.IsFinite(b.Value)))
            {
                int s = series.IndexOf(bar.Series);
                double x = groupLeft + s * barWidth;
                double top = y(Math.Max(0, bar.Value)),
                    bottom = y(0);
                svg.Append(
                    CultureInfo.InvariantCulture,
                    $"<rect class=\"bar\" data-series=\"{Svg.E(bar.Series)}\" "
                        + $"data-category=\"{Svg.E(groups[g].Category)}\" data-value=\"{Svg.N(bar.Value)}\" "
                        + $"x=\"{Svg.N(x)}\" y=\"{Svg.N(top)}\" width=\"{Svg.N(barWidth * 0.92)}\" "
                        + $"height=\"{Svg.N(bottom - top)}\" "
                        + $"fill=\"{Svg.Color(s)}\"><title>"
                        + $"{Svg.E($"{groups[g].Category} · {bar.Series}: {Svg.Label(bar.Value)}")}</title></rect>"
                );
                if (bar.Low is double low && bar.High is double high && double.IsFinite(low) && double.IsFinite(high))
                {
                    double cx = x + barWidth * 0.46;
                    svg.Append(
                        CultureInfo.InvariantCulture,
                        $"<path class=\"error-bar\" d=\"M{Svg.N(cx)} "
                            + $"{Svg.N(y(Math.Max(0, low)))}V{Svg.N(y(high))}M{Svg.N(cx - 4)} "
                            + $"{Svg.N(y(high))}h8M{Svg.N(cx - 4)} {Svg.N(y(Math.Max(0, low)))}h8\" stroke=\"#222\" "
                            + $"fill=\"none\"/>"
                    );
                }
            }
            // Case names are long: slanted labels keep them readable side by side.
            double labelX = Svg.Left + (g + 0.5) * groupWidth,
                labelY = Svg.Top + Svg.PlotHeight + 14;
            svg.Append(
                CultureInfo.InvariantCulture,
                $"<text x=\"{Svg.N(labelX)}\" y=\"{Svg.N(labelY)}\" text-anchor=\"end\" transform=\"rotate(-25 "
                    + $"{Svg.N(labelX)} {Svg.N(labelY)})\">{Svg.E(Svg.Truncate(groups[g].Category, 30))}</text>"
            );
        }
        return Svg.End(svg);
    }
}
