using System.Globalization;
using System.Text;

namespace CniBench.Cli.Charts;

/// <summary>
/// A matrix of values as coloured cells with their numbers written in: rows are where something came from, columns
/// where it went (bytes from zone to zone). The darker the cell, the larger its share of the largest cell.
/// </summary>
public static class HeatMap
{
    private const int Cell = 96,
        CellHeight = 40,
        LeftMargin = 110,
        TopMargin = 78;

    public static string Render(
        string title,
        string rowTitle,
        string columnTitle,
        IReadOnlyList<string> labels,
        Func<string, string, double> value,
        string unit
    )
    {
        int width = Math.Max(Math.Max(560, title.Length * 9), LeftMargin + labels.Count * Cell + 24),
            height = TopMargin + labels.Count * CellHeight + 40;
        double max = labels.SelectMany(r => labels.Select(c => value(r, c))).DefaultIfEmpty(0).Max();
        var svg = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        svg.Append(
            inv,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"cnibench-chart heat-map\" viewBox=\"0 0 {width} "
                + $"{height}\" width=\"{width}\" height=\"{height}\" role=\"img\" font-family=\"system-ui, "
                + $"sans-serif\" font-size=\"12\"><title>{Svg.E(title)}</title>"
                + $"<rect width=\"{width}\" height=\"{height}\" fill=\"#fff\"/>"
                + $"<text x=\"{width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" "
                + $"font-weight=\"600\">{Svg.E(title)}</text>"
                + $"<text class=\"axis-title\" x=\"{LeftMargin + labels.Count * Cell / 2}\" y=\"46\" "
                + $"text-anchor=\"middle\">{Svg.E(columnTitle)} →</text>"
                + $"<text class=\"axis-title\" x=\"12\" y=\"{TopMargin - 8}\">{Svg.E(rowTitle)} ↓</text>"
        );
        for (int c = 0; c < labels.Count; c++)
            svg.Append(
                inv,
                $"<text x=\"{LeftMargin + c * Cell + Cell / 2}\" y=\"{TopMargin - 8}\" "
                    + $"text-anchor=\"middle\">{Svg.E(labels[c])}</text>"
            );
        for (int r = 0; r < labels.Count; r++)
        {
            int y = TopMargin + r * CellHeight;
            svg.Append(inv, $"<text x=\"12\" y=\"{y + CellHeight / 2 + 4}\">{Svg.E(labels[r])}</text>");
            for (int c = 0; c < labels.Count; c++)
            {
                double v = value(labels[r], labels[c]);
                double share = max > 0 ? v / max : 0;
                // From white to the palette's blue; text turns white on the darker half.
                string fill = Blend(share);
                svg.Append(
                    inv,
                    $"<g class=\"cell\" data-from=\"{Svg.E(labels[r])}\" data-to=\"{Svg.E(labels[c])}\" "
                        + $"data-value=\"{Svg.N(v)}\"><rect x=\"{LeftMargin + c * Cell}\" y=\"{y}\" "
                        + $"width=\"{Cell - 2}\" height=\"{CellHeight - 2}\" fill=\"{fill}\" stroke=\"#ccc\"/>"
                        + $"<text x=\"{LeftMargin + c * Cell + Cell / 2}\" y=\"{y + CellHeight / 2 + 4}\" "
                        + $"text-anchor=\"middle\" fill=\"{(share > 0.5 ? "#fff" : "#1b1b1b")}\">"
                        + $"{Svg.E(v.ToString(v >= 100 ? "0" : "0.##", inv))}</text></g>"
                );
            }
        }
        svg.Append(inv, $"<text x=\"{LeftMargin}\" y=\"{height - 14}\" fill=\"#555\">{Svg.E(unit)}</text></svg>");
        return svg.ToString();
    }

    private static string Blend(double share)
    {
        // #0072B2 at full share.
        int R(int full) => (int)Math.Round(255 + (full - 255) * Math.Clamp(share, 0, 1));
        return string.Create(CultureInfo.InvariantCulture, $"#{R(0x00):X2}{R(0x72):X2}{R(0xB2):X2}");
    }
}
