using CniBench.Cli.Charts;
using CniBench.Cli.Reporting;
using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;

namespace CniBench.Cli.Features;

/// <summary>
/// Every suite feature of the program, registered once here (as a benchmark harness lists its diagnosers): the
/// loader reads their fields, the run checks and prepares their cases, and nothing below knows any of them by name.
/// </summary>
public static class SuiteFeatures
{
    public static IReadOnlyList<ICaseFeature> All { get; } =
    [
        new Hairpin.HairpinFeature(),
        new TrafficSplit.TrafficSplitFeature(),
        new Convergence.ConvergenceFeature(),
        new Transfer.TransferFeature(),
        new Egress.EgressFeature(),
    ];

    /// <summary>The charts features add to a case's section of a report.</summary>
    public static IReadOnlyList<ICaseCharts> Charts { get; } =
    [new TrafficSplit.SplitCharts(), new Convergence.ConvergenceCharts()];

    /// <summary>What the features add to a report: their charts and sections (the transfer section priced at
    /// <paramref name="prices"/> when given).</summary>
    public static ReportFeatures Report(CniBench.Cli.Transfer.PriceTable? prices = null)
    {
        var transfer = new Transfer.TransferSection(prices);
        return new([.. Charts, transfer], [transfer]);
    }

    /// <summary>Scenarios read with every feature's fields.</summary>
    public static ScenarioReader Scenarios { get; } = new(All);
}
