using CniBench.Cli.Features.Convergence;
using CniBench.Cli.Features.Egress;
using CniBench.Cli.Features.Hairpin;
using CniBench.Cli.Features.TrafficSplit;
using CniBench.Cli.Features.Transfer;
using CniBench.Cli.Reporting;
using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Transfer;

namespace CniBench.Cli.Features;

/// <summary>
/// Every suite feature of the program, registered once here (as a benchmark harness lists its diagnosers): the
/// loader reads their fields, the run checks and prepares their cases, and nothing below knows any of them by name.
/// </summary>
public static class SuiteFeatures
{
    public static IReadOnlyList<ICaseFeature> All { get; } =
    [
        new HairpinFeature(),
        new TrafficSplitFeature(),
        new ConvergenceFeature(),
        new TransferFeature(),
        new EgressFeature(),
    ];

    /// <summary>What the features add to a report: their charts and sections (the transfer section priced at
    /// <paramref name="prices"/> when given).</summary>
    public static ReportFeatures Report(PriceTable? prices = null)
    {
        var transfer = new TransferSection(prices);
        return new([new SplitCharts(), new ConvergenceCharts(), transfer], [transfer]);
    }

    /// <summary>Scenarios read with every feature's fields.</summary>
    public static ScenarioReader Scenarios { get; } = new(All);
}
