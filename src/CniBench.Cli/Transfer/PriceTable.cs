using System.Globalization;
using CniBench.Cli.Scenarios;
using YamlDotNet.RepresentationModel;

namespace CniBench.Cli.Transfer;

/// <summary>
/// What a provider charges per GB (10^9 bytes) moved: between zones, charged on each side (a GB that crosses costs
/// twice <paramref name="CrossZonePerGb"/>, as the large clouds bill it), and out to the internet. Traffic inside a
/// zone and traffic coming in are free, as they commonly are.
/// </summary>
public sealed record PriceTable(double CrossZonePerGb, double InternetPerGb, string Currency = "USD")
{
    public const double HoursPerMonth = 730;

    /// <summary>What moving <paramref name="classes"/>' bytes costs per hour at the rate of a window of
    /// <paramref name="windowSeconds"/>: between zones and to the internet.</summary>
    public (double CrossZone, double Internet) CostPerHour(IReadOnlyList<ClassBytes> classes, double windowSeconds)
    {
        double gbPerHour(TrafficClass c) =>
            classes.Where(x => x.Class == c).Sum(x => x.Bytes) / Math.Max(1e-9, windowSeconds) * 3600 / 1e9;
        return (
            gbPerHour(TrafficClass.CrossZone) * CrossZonePerGb * 2,
            gbPerHour(TrafficClass.ToInternet) * InternetPerGb
        );
    }

    private static readonly string[] Fields = ["currency", "crossZonePerGb", "internetPerGb"];

    /// <summary>A prices file: `crossZonePerGb`, `internetPerGb` (numbers ≥ 0) and optionally `currency`; a mistake
    /// is reported as file:line:column.</summary>
    public static PriceTable Load(string path)
    {
        if (!File.Exists(path))
            throw new PricesException([
                new ScenarioError(
                    path,
                    1,
                    1,
                    "--prices",
                    "no such file",
                    "a YAML file with crossZonePerGb, internetPerGb"
                ),
            ]);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>A prices file's text; <paramref name="path"/> names it in errors.</summary>
    public static PriceTable Parse(string yaml, string path)
    {
        var errors = new List<ScenarioError>();
        var document = YamlText.Read(yaml, path, errors);
        if (errors.Count > 0)
            throw new PricesException(errors);
        if (document?.RootNode is not YamlMappingNode root)
            throw new PricesException([
                new ScenarioError(path, 1, 1, "prices", "not a mapping", "crossZonePerGb: 0.01, internetPerGb: 0.09"),
            ]);
        double crossZone = 0,
            internet = 0;
        string currency = "USD";
        foreach (var (keyNode, valueNode) in root.Children)
        {
            string key = (keyNode as YamlScalarNode)?.Value ?? "";
            string text = (valueNode as YamlScalarNode)?.Value ?? "";
            void Error(string problem, string allowed) =>
                errors.Add(
                    new ScenarioError(
                        path,
                        (int)valueNode.Start.Line,
                        (int)valueNode.Start.Column,
                        key,
                        problem,
                        allowed
                    )
                );
            double Price()
            {
                if (
                    double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
                    && v >= 0
                    && v <= 1000
                )
                    return v;
                Error($"'{text}' is not a price", "a number 0..1000 per GB");
                return 0;
            }
            switch (key)
            {
                case "crossZonePerGb":
                    crossZone = Price();
                    break;
                case "internetPerGb":
                    internet = Price();
                    break;
                case "currency":
                    if (text.Length is < 1 or > 8)
                        Error($"'{text}' is not a currency", "a short code such as USD or EUR");
                    currency = text;
                    break;
                default:
                    errors.Add(
                        new ScenarioError(
                            path,
                            (int)keyNode.Start.Line,
                            (int)keyNode.Start.Column,
                            key,
                            "unknown field",
                            string.Join(", ", Fields)
                        )
                    );
                    break;
            }
        }
        if (errors.Count > 0)
            throw new PricesException(errors);
        return new PriceTable(crossZone, internet, currency);
    }
}

/// <summary>The prices file has mistakes, each with its file:line:column.</summary>
public sealed class PricesException(IReadOnlyList<ScenarioError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<ScenarioError> Errors { get; } = errors;
}
