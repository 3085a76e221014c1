using System.CommandLine;
using CniBench.Cli.Kube;

namespace CniBench.Cli.Commands;

/// <summary>kubectl-style flags shared by `run --target kube`, `kube cleanup` and `kube check`.</summary>
public sealed class KubeOptions
{
    public const string DefaultImage = "cnibench-agent:latest";

    public Option<string?> Kubeconfig { get; } = new("--kubeconfig") { Description = "kubeconfig file (default: $KUBECONFIG, else ~/.kube/config; in a pod, its service account)" };
    public Option<string?> Context { get; } = new("--context") { Description = "kubeconfig context (default: its current-context)" };
    public Option<string?> Namespace { get; } = new("--namespace", "-n") { Description = "Run in this existing namespace instead of a new one per run" };
    public Option<string> Image { get; } = new("--agent-image") { Description = $"Agent image (build it with deploy/Dockerfile; default {DefaultImage})", DefaultValueFactory = _ => DefaultImage };

    public IEnumerable<Option> All => [Kubeconfig, Context, Namespace, Image];

    public KubeClient Connect(ParseResult parse) =>
        new(KubeConfig.Load(parse.GetValue(Kubeconfig), parse.GetValue(Context), parse.GetValue(Namespace)));
}
