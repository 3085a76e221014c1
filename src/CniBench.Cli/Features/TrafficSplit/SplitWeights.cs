namespace CniBench.Cli.Features.TrafficSplit;

/// <summary>A traffic-split case's HTTPRoute weights for its two backends (A/B, as Gateway API weights: relative, not
/// necessarily summing to 100).</summary>
public sealed record SplitWeights(int A, int B)
{
    /// <summary>The share B should get, in percent.</summary>
    public double SharePercentB => 100.0 * B / (A + B);

    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{A}/{B}");

    public static bool TryParse(string text, out SplitWeights weights)
    {
        weights = new SplitWeights(0, 0);
        var parts = text.Split('/');
        if (
            parts.Length != 2
            || !int.TryParse(
                parts[0],
                System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture,
                out int a
            )
            || !int.TryParse(
                parts[1],
                System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture,
                out int b
            )
            || a > 1_000_000
            || b > 1_000_000
            || a + b == 0
        )
            return false;
        weights = new SplitWeights(a, b);
        return true;
    }
}
