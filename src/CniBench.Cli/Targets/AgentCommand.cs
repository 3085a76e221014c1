namespace CniBench.Cli.Targets;

/// <summary>How to start cnibench-agent: $CNIBENCH_AGENT, else the agent built next to this program.</summary>
public sealed record AgentCommand(string FileName, IReadOnlyList<string> PrefixArguments)
{
    public const string EnvironmentVariable = "CNIBENCH_AGENT";

    public static AgentCommand Locate()
    {
        var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(configured))
        {
            if (!File.Exists(configured))
                throw new TargetException(
                    $"{EnvironmentVariable}={configured}: no such file; allowed: the path of cnibench-agent or "
                        + $"cnibench-agent.dll"
                );
            return FromPath(configured);
        }
        var dir = AppContext.BaseDirectory;
        var apphost = Path.Combine(dir, "cnibench-agent");
        if (File.Exists(apphost))
            return new AgentCommand(apphost, []);
        var dll = Path.Combine(dir, "cnibench-agent.dll");
        if (File.Exists(dll))
            return FromPath(dll);
        throw new TargetException(
            $"cnibench-agent was not found next to cnibench ({dir}); build the solution or set {EnvironmentVariable}"
        );
    }

    private static AgentCommand FromPath(string path) =>
        path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
            ? new AgentCommand(DotnetHost(), [path])
            : new AgentCommand(path, []);

    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
            return host;
        var self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }
}
