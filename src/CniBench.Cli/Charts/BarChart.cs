using System.Globalization;

namespace CniBench.Cli.Charts;

/// <summary>One bar: its mean, its interval when there is one worth drawing, and whether its repetitions disagree
/// (then it has no interval and is marked instead).</summary>
public sealed record BarValue(
    string Series,
    double Value,
    double? Low = null,
    double? High = null,
    bool Unstable = false
);

public sealed record BarGroup(string Category, IReadOnlyList<BarValue> Bars);

/// <summary>
/// Grouped bars (one group per category, one bar per series) with optional 95% CI error bars. The axis is scaled to
/// the bars, not to their intervals: one runaway interval must not flatten every bar, so an interval that leaves the
/// axis is cut at its top with an arrow. An unstable bar is hatched and has no error bar.
/// </summary>
public static class BarChart
{
    private const string UnstableStyle = " fill-opacity=\"0.45\" stroke-dasharray=\"4 2\" stroke=\"#222\"";

    public static string Render(string title, string yTitle, IReadOnlyList<BarGroup> groups, string xTitle = "")
    {
        var series = groups.SelectMany(g => g.Bars.Select(b => b.Series)).Distinct().ToList();
        var svg = Svg.Begin("bar-chart", title, xTitle, yTitle, series);
        double highestBar = groups
            .SelectMany(g => g.Bars)
            .Select(b => b.Value)
            .Where(double.IsFinite)
            .DefaultIfEmpty(1)
            .Max();
        // Room above the highest bar for most intervals (half as much again), never more.
        double max = Math.Min(
            groups
                .SelectMany(g => g.Bars)
                .Select(b => b.High ?? b.Value)
                .Where(double.IsFinite)
                .DefaultIfEmpty(1)
                .Max(),
            highestBar * 1.5
        );
        max = Math.Max(max, highestBar);
        var y = Svg.ValueAxis(svg, 0, max <= 0 ? 1 : max);
        double axisTop = Svg.Top;
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
                        + $"fill=\"{Svg.Color(s)}\"{(bar.Unstable ? UnstableStyle : "")}>"
                        + $"<title>{Svg.E($"{groups[g].Category} · {bar.Series}: {Svg.Label(bar.Value)}")}"
                        + $"{(bar.Unstable ? " (unstable: the repetitions disagree)" : "")}</title></rect>"
                );
                double cx = x + barWidth * 0.46;
                if (bar.Unstable)
                    svg.Append(
                        CultureInfo.InvariantCulture,
                        $"<text class=\"unstable-mark\" x=\"{Svg.N(cx)}\" y=\"{Svg.N(top - 4)}\" "
                            + $"text-anchor=\"middle\">unstable</text>"
                    );
                else if (
                    bar.Low is double low
                    && bar.High is double high
                    && double.IsFinite(low)
                    && double.IsFinite(high)
                )
                {
                    bool clipped = y(high) < axisTop;
                    double highY = Math.Max(axisTop, y(high)),
                        lowY = y(Math.Max(0, low));
                    string cap = clipped ? "" : $"M{Svg.N(cx - 4)} {Svg.N(highY)}h8";
                    svg.Append(
                        CultureInfo.InvariantCulture,
                        $"<path class=\"error-bar\" d=\"M{Svg.N(cx)} {Svg.N(lowY)}V{Svg.N(highY)}"
                            + $"M{Svg.N(cx - 4)} {Svg.N(lowY)}h8{cap}\" stroke=\"#222\" fill=\"none\"/>"
                    );
                    if (clipped)
                        svg.Append(
                            CultureInfo.InvariantCulture,
                            $"<path class=\"clipped\" d=\"M{Svg.N(cx - 5)} {Svg.N(axisTop + 7)}L{Svg.N(cx)} "
                                + $"{Svg.N(axisTop)}L{Svg.N(cx + 5)} {Svg.N(axisTop + 7)}Z\" fill=\"#222\">"
                                + $"<title>interval goes on to {Svg.E(Svg.Label(high))}</title></path>"
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
