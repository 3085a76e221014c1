using CniBench.Cli.Features;
using CniBench.Cli.Running;
using CniBench.Cli.Targets;

namespace CniBench.Tests.Support;

/// <summary>A target as the CLI runs it: with every suite feature on top.</summary>
public static class Featured
{
    public static FeatureTarget On(ITarget target) => new(target, SuiteFeatures.All);
}
