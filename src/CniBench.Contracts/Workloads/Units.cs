using System.Globalization;

namespace CniBench.Contracts.Workloads;

/// <summary>Parses the human units used in flags and scenario files: 5s, 500ms, 2m; 128KiB, 1M; 100Mbit, 1G.</summary>
public static class Units
{
    public const string DurationHelp = "a duration such as 500ms, 5s, 2m or 1h";
    public const string SizeHelp = "a size in bytes such as 1, 512, 64KiB, 1MiB (K/M/G = 1000s, KiB/MiB/GiB = 1024s)";
    public const string BitrateHelp = "bits per second such as 0 (as fast as possible), 100Mbit, 1Gbit, 2.5G";

    public static bool TryParseDuration(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        text = text.Trim();
        (string suffix, double factorMs)[] units = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)];
        foreach (var (suffix, factor) in units)
        {
            if (!text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
                continue;
            var number = text[..^suffix.Length];
            // "5ms" also ends with "s": only accept when the rest is a number.
            if (
                double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double n)
                && double.IsFinite(n)
            )
            {
                value = TimeSpan.FromMilliseconds(n * factor);
                return true;
            }
        }
        return false;
    }

    public static bool TryParseSize(string? text, out long bytes) => TryParseScaled(text, ["", "b"], out bytes);

    public static bool TryParseBitrate(string? text, out long bitsPerSecond) =>
        TryParseScaled(text, ["", "bit", "bps", "bit/s"], out bitsPerSecond);

    private static bool TryParseScaled(string? text, string[] baseSuffixes, out long value)
    {
        value = 0;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        string s = text.Trim();
        foreach (var baseSuffix in baseSuffixes.OrderByDescending(b => b.Length))
        {
            if (baseSuffix.Length > 0 && !s.EndsWith(baseSuffix, StringComparison.OrdinalIgnoreCase))
                continue;
            string rest = s[..^baseSuffix.Length];
            (string prefix, double factor)[] scales =
            [
                ("Ki", 1024),
                ("Mi", 1024 * 1024),
                ("Gi", 1024.0 * 1024 * 1024),
                ("K", 1e3),
                ("M", 1e6),
                ("G", 1e9),
                ("", 1),
            ];
            foreach (var (prefix, factor) in scales)
            {
                if (!rest.EndsWith(prefix, StringComparison.OrdinalIgnoreCase))
                    continue;
                string number = rest[..^prefix.Length];
                if (
                    !double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double n)
                    || !double.IsFinite(n)
                )
                    continue;
                double result = n * factor;
                if (result is < long.MinValue or > long.MaxValue)
                    return false;
                value = (long)Math.Round(result);
                return true;
            }
        }
        return false;
    }

    public static string FormatDuration(TimeSpan d) =>
        d.TotalMilliseconds % 1000 == 0
            ? (d.TotalSeconds).ToString("0", CultureInfo.InvariantCulture) + "s"
            : d.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + "ms";
}
