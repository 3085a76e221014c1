using System.Globalization;
using System.Net;
using System.Text;

namespace CniBench.Cli.Charts;

/// <summary>
/// The pieces every chart shares: a colour-blind-safe palette (Okabe–Ito), "nice" axis ticks,
/// culture-free numbers and escaped text: inline SVG that any browser, wiki or paper can show without scripts.
/// Our own rather than a chart package: a few hundred lines, no native drawing library, and the output is text a
/// test can read.
/// </summary>
public static class Svg
{
    public const int Width = 760,
        Height = 400,
        Left = 78,
        Right = 170,
        Top = 44,
        Bottom = 92;
    public static int PlotWidth => Width - Left - Right;
    public static int PlotHeight => Height - Top - Bottom;

    public static readonly string[] Palette =
    [
        "#0072B2",
        "#E69F00",
        "#009E73",
        "#CC79A7",
        "#56B4E9",
        "#D55E00",
        "#F0E442",
        "#000000",
    ];

    public static string Color(int i) => Palette[i % Palette.Length];

    public static string N(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    public static string E(string text) => WebUtility.HtmlEncode(text);

    /// <summary>Ticks at 1, 2 or 5 × 10^k covering [min, max], about five of them (at most ten).</summary>
    public static IReadOnlyList<double> Ticks(double min, double max, int target = 5)
    {
        if (!(max > min))
            max = min + 1;
        double raw = (max - min) / target;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1, 2, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw);
        // From the multiple of step at or below min to the one at or above max, so the axis ends on a tick.
        var ticks = new List<double>();
        double last = Math.Ceiling(max / step - 1e-9) * step;
        for (double t = Math.Floor(min / step + 1e-9) * step; t <= last + step * 1e-9; t += step)
            ticks.Add(Math.Round(t / step) * step);
        return ticks;
    }

    /// <summary>Opens an SVG with its title (also the accessible name), axis titles and a legend.</summary>
    public static StringBuilder Begin(
        string kind,
        string title,
        string xTitle,
        string yTitle,
        IReadOnlyList<string> legend
    )
    {
        var svg = new StringBuilder();
        svg.Append(
            CultureInfo.InvariantCulture,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"cnibench-chart {kind}\" viewBox=\"0 0 {Width} "
                + $"{Height}\" width=\"{Width}\" height=\"{Height}\" role=\"img\" font-family=\"system-ui, "
                + $"sans-serif\" font-size=\"12\">"
        );
        svg.Append(
            CultureInfo.InvariantCulture,
            $"<title>{E(title)}</title><rect width=\"{Width}\" height=\"{Height}\" fill=\"#fff\"/>"
        );
        svg.Append(
            CultureInfo.InvariantCulture,
            $"<text x=\"{Width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" "
                + $"font-weight=\"600\">{E(title)}</text>"
        );
        svg.Append(
            CultureInfo.InvariantCulture,
            $"<text class=\"axis-title\" x=\"{Left + PlotWidth / 2}\" y=\"{Height - 12}\" "
                + $"text-anchor=\"middle\">{E(xTitle)}</text>"
        );
        svg.Append(
            CultureInfo.InvariantCulture,
            $"<text class=\"axis-title\" transform=\"translate(16 {Top + PlotHeight / 2}) rotate(-90)\" "
                + $"text-anchor=\"middle\">{E(yTitle)}</text>"
        );
        for (int i = 0; i < legend.Count; i++)
        {
            int y = Top + 8 + i * 20;
            svg.Append(
                CultureInfo.InvariantCulture,
                $"<g class=\"legend-item\"><rect x=\"{Width - Right + 16}\" y=\"{y - 9}\" width=\"12\" height=\"12\" "
                    + $"fill=\"{Color(i)}\"/><text x=\"{Width - Right + 34}\" "
                    + $"y=\"{y + 1}\">{E(Truncate(legend[i], 20))}</text></g>"
            );
        }
        return svg;
    }

    /// <summary>Horizontal grid lines with labels for a value axis from min to max; returns the value → y
    /// mapping.</summary>
    public static Func<double, double> ValueAxis(StringBuilder svg, double min, double max)
    {
        var ticks = Ticks(min, max);
        double lo = Math.Min(min, ticks[0]),
            hi = Math.Max(max, ticks[^1]);
        double Y(double v) => Top + PlotHeight - (v - lo) / (hi - lo) * PlotHeight;
        foreach (var t in ticks)
        {
            svg.Append(
                CultureInfo.InvariantCulture,
                $"<line x1=\"{Left}\" x2=\"{Left + PlotWidth}\" y1=\"{N(Y(t))}\" y2=\"{N(Y(t))}\" stroke=\"#e3e3e3\"/>"
            );
            svg.Append(
                CultureInfo.InvariantCulture,
                $"<text x=\"{Left - 6}\" y=\"{N(Y(t) + 4)}\" text-anchor=\"end\">{E(Label(t))}</text>"
            );
        }
        svg.Append(
            CultureInfo.InvariantCulture,
            $"<line x1=\"{Left}\" x2=\"{Left}\" y1=\"{Top}\" y2=\"{Top + PlotHeight}\" stroke=\"#555\"/>"
        );
        svg.Append(
            CultureInfo.InvariantCulture,
            $"<line x1=\"{Left}\" x2=\"{Left + PlotWidth}\" y1=\"{Top + PlotHeight}\" y2=\"{Top + PlotHeight}\" "
                + $"stroke=\"#555\"/>"
        );
        return Y;
    }

    /// <summary>Tick labels with thousands separators and no more decimals than needed (culture-free).</summary>
    public static string Label(double v) =>
        Math.Abs(v) >= 1000
            ? v.ToString("#,0", CultureInfo.InvariantCulture)
            : v.ToString("0.###", CultureInfo.InvariantCulture);

    public static string Truncate(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    public static string End(StringBuilder svg) => svg.Append("</svg>").ToString();
}
