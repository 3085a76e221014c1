using System.CommandLine;
using CniBench.Cli.Features;
using CniBench.Cli.Reporting;
using CniBench.Cli.Results;
using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Storage;
using CniBench.Cli.Targets;
using CniBench.Contracts.Cli;
using CniBench.Contracts.Workloads;
using Spectre.Console;

namespace CniBench.Cli.Commands;

/// <summary>`cnibench run`: validate a scenario, run it on a target, store every result, write the report.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var suite = new Option<string?>("--suite", "-s")
        {
            Description = $"Built-in suite: {string.Join(", ", ScenarioLoader.BuiltInSuites)} (default quick)",
        };
        var file = new Option<string?>("--file", "-f") { Description = "Scenario YAML file (see docs/scenarios.md)" };
        var target = new Option<string>("--target", "-t")
        {
            Description = $"Where agents run: {string.Join(", ", TargetFactory.Names)}",
            DefaultValueFactory = _ => "local",
        };
        var lab = new Option<string?>("--lab")
        {
            Description = "With --target lab: which lab (default: the only one up)",
        };
        var config = new Option<string>("--config", "-c")
        {
            Description = "Label of the configuration under test (e.g. cilium-1.16-kpr), so runs can be compared",
            DefaultValueFactory = _ => "default",
        };
        var db = CommonOptions.Database();
        var output = new Option<string>("--out")
        {
            Description = "Report directory",
            DefaultValueFactory = _ => CommonOptions.DefaultReportDirectory,
        };
        var noReport = new Option<bool>("--no-report") { Description = "Store results but write no report" };
        var prices = CommonOptions.Prices();
        var repetitions = new Option<int?>("--repetitions", "-r")
        {
            Description = "Override every case's repetitions (1..100)",
        };
        var duration = new Option<string?>("--duration", "-d")
        {
            Description = "Override every case's measured window, " + Units.DurationHelp,
        };
        var warmup = new Option<string?>("--warmup") { Description = "Override every case's warm-up" };
        var ipFamily = new Option<string?>("--ip-family")
        {
            Description = "Override every case's IP family: ipv4, ipv6",
        };
        var onlyCompatible = new Option<bool>("--only-compatible")
        {
            Description =
                "Run the cases this target can run as it is (a lab that is up) and skip the others, saying which",
        };
        var kube = new KubeOptions();

        var command = new Command("run", "Run a suite or scenario, store the results and write a report")
        {
            suite,
            file,
            target,
            lab,
            config,
            db,
            output,
            noReport,
            prices,
            repetitions,
            duration,
            warmup,
            ipFamily,
            onlyCompatible,
        };
        foreach (
            var o in kube
                .All.Concat(kube.EgressAll)
                .Concat(kube.PlacementAll)
                .Append(kube.GatewayClass)
                .Append(kube.NodeSampler)
                .Append(kube.NetworkPolicy)
        )
            command.Options.Add(o);
        command.SetAction(
            (parse, cancellationToken) =>
                CommonOptions.GuardAsync(async () =>
                {
                    var problems = new List<string>();
                    if (parse.GetValue(suite) is not null && parse.GetValue(file) is not null)
                        problems.Add("--suite and --file: give one, not both");
                    if (!TargetFactory.Names.Contains(parse.GetValue(target)))
                        problems.Add(
                            $"--target: '{parse.GetValue(target)}' is not available; allowed: "
                                + $"{string.Join(", ", TargetFactory.Names)}"
                        );
                    var overrides = Overrides.Parse(
                        parse.GetValue(repetitions),
                        parse.GetValue(duration),
                        parse.GetValue(warmup),
                        parse.GetValue(ipFamily),
                        problems
                    );
                    if (parse.GetValue(lab) is { } labId && !Targets.Lab.Network.LabSpec.IsValidId(labId))
                        problems.Add(
                            $"--lab: '{labId}' is not a lab id; allowed: {Targets.Lab.Network.LabSpec.IdFormat}"
                        );
                    var egress = kube.Egress(parse, problems);
                    var placement = kube.Placement(parse, problems);
                    if (problems.Count > 0)
                    {
                        foreach (var p in problems)
                            Console.Error.WriteLine($"cnibench run: {p}");
                        return ExitCodes.BadInput;
                    }

                    // Read before anything runs: a mistake in it must not cost a run its report.
                    var priceTable = parse.GetValue(prices) is { } pricesPath
                        ? Transfer.PriceTable.Load(pricesPath)
                        : null;
                    var scenario = parse.GetValue(file) is { } path
                        ? SuiteFeatures.Scenarios.LoadFile(path)
                        : SuiteFeatures.Scenarios.LoadSuite(parse.GetValue(suite) ?? "quick", parse.GetValue(target));
                    scenario = overrides.ApplyTo(scenario);

                    await using var bareTarget = await TargetFactory.CreateAsync(
                        parse.GetValue(target)!,
                        parse.GetValue(lab),
                        cancellationToken,
                        options => new Targets.Kube.KubeTarget(
                            kube.Connect(parse),
                            options with
                            {
                                Image = parse.GetValue(kube.Image)!,
                                Namespace = parse.GetValue(kube.Namespace),
                                Egress = egress,
                                GatewayClass = parse.GetValue(kube.GatewayClass),
                                NodeSampler = parse.GetValue(kube.NodeSampler),
                                NetworkPolicy = parse.GetValue(kube.NetworkPolicy),
                                Placement = placement,
                            }
                        ),
                        scenario.Cases.Select(c => c.IpFamily).ToHashSet()
                    );
                    // The target with every suite's feature on top: their checks, and their cases' agents.
                    var runTarget = new FeatureTarget(bareTarget, SuiteFeatures.All);
                    var refused = scenario
                        .Cases.SelectMany(c => runTarget.ValidateCase(c).Select(p => (c.Name, p)))
                        .ToArray();
                    if (refused.Length > 0)
                    {
                        var fit = scenario.Cases.Where(c => refused.All(r => r.Name != c.Name)).ToArray();
                        foreach (var line in TargetValidation.Summarize(refused))
                            Console.Error.WriteLine($"cnibench run: {line}");
                        if (!parse.GetValue(onlyCompatible) || fit.Length == 0)
                        {
                            Console.Error.WriteLine(
                                $"cnibench run: {Format.Count(scenario.Cases.Count - fit.Length, "case")} of "
                                    + $"{scenario.Cases.Count} cannot run on this {runTarget.Name}"
                                    + (fit.Length == 0 ? "" : $"; --only-compatible runs the other {fit.Length}")
                                    + (
                                        runTarget.Name == "lab"
                                            ? "; or take the lab down (cnibench lab down) and the run builds the labs "
                                                + "its cases need"
                                            : ""
                                    )
                            );
                            return ExitCodes.BadInput;
                        }
                        Console.Error.WriteLine(
                            $"cnibench run: --only-compatible: running {Format.Count(fit.Length, "case")} of "
                                + $"{scenario.Cases.Count}, skipping {scenario.Cases.Count - fit.Length}"
                        );
                        scenario = scenario with { Cases = fit };
                    }
                    scenario = scenario with { Cases = runTarget.Order(scenario.Cases) };
                    using var store = ResultStore.Open(parse.GetValue(db)!);
                    var console = AnsiConsole.Console;
                    double seconds = Math.Ceiling(scenario.Estimate(runTarget.EstimatePreparation).TotalSeconds);
                    var estimate = Units.FormatDuration(TimeSpan.FromSeconds(seconds));
                    console.MarkupLine(
                        $"[bold]{Markup.Escape(scenario.Name)}[/]: {scenario.Cases.Count} cases, "
                            + $"{scenario.TotalRuns} runs, about {estimate}"
                            + $" on [bold]{runTarget.Name}[/]"
                    );

                    var environment = await EnvironmentInfo.EnvironmentProbe.DescribeAsync(cancellationToken);
                    foreach (var (k, v) in await runTarget.DescribeEnvironmentAsync(cancellationToken))
                        environment[k] = v;
                    var orchestrator = new RunOrchestrator(
                        runTarget,
                        store,
                        new ConsoleView(console, scenario, preparation: runTarget.EstimatePreparation)
                    );
                    var outcome = await orchestrator.RunAsync(
                        scenario,
                        parse.GetValue(config)!,
                        environment,
                        cancellationToken
                    );

                    var model = ReportModel.Load(store, outcome.Run.Id, SuiteFeatures.Report(priceTable));
                    ConsoleView.WriteSummary(console, model.Summaries);
                    ConsoleView.WriteDigest(console, model);
                    if (!parse.GetValue(noReport))
                    {
                        var written = ReportWriter.WriteAll(model, parse.GetValue(output)!);
                        console.MarkupLine(
                            $"report: {Markup.Escape(ReportWriter.Describe(written, parse.GetValue(output)!))}"
                        );
                    }
                    console.MarkupLine(
                        $"run [bold]{outcome.Run.Id}[/] {outcome.State.ToString().ToLowerInvariant()}: "
                            + $"{outcome.Results.Count} results in {Markup.Escape(parse.GetValue(db)!)}"
                    );
                    return outcome.State switch
                    {
                        RunState.Completed => ExitCodes.Ok,
                        RunState.Interrupted => ExitCodes.Interrupted,
                        _ => ExitCodes.Failed,
                    };
                })
        );
        return command;
    }

    /// <summary>Command-line overrides of what the scenario says, validated like the scenario's own fields.</summary>
    private sealed record Overrides(int? Repetitions, TimeSpan? Duration, TimeSpan? Warmup, IpFamily? IpFamily)
    {
        public static Overrides Parse(
            int? repetitions,
            string? duration,
            string? warmup,
            string? ipFamily,
            List<string> problems
        )
        {
            object? Read(string flag, string field, string? text)
            {
                if (text is null)
                    return null;
                var f = ScenarioFields.Find(field)!;
                if (f.Read(text, out var value))
                    return value;
                problems.Add($"{flag}: '{text}' is not valid; allowed: {f.Allowed}");
                return null;
            }
            if (repetitions is < 1 or > 100)
                problems.Add($"--repetitions: {repetitions} is out of range; allowed: 1..100");
            return new Overrides(
                repetitions,
                (TimeSpan?)Read("--duration", "duration", duration),
                (TimeSpan?)Read("--warmup", "warmup", warmup),
                (IpFamily?)Read("--ip-family", "ipFamily", ipFamily)
            );
        }

        public Scenario ApplyTo(Scenario scenario) =>
            scenario with
            {
                Cases = scenario
                    .Cases.Select(c =>
                        c with
                        {
                            Repetitions = Repetitions ?? c.Repetitions,
                            Duration = Duration ?? c.Duration,
                            Warmup = Warmup ?? c.Warmup,
                            IpFamily = IpFamily ?? c.IpFamily,
                        }
                    )
                    .ToArray(),
            };
    }
}
