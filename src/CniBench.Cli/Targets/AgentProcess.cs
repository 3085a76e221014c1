using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using CniBench.Cli.Agents;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Targets;

/// <summary>
/// One cnibench-agent child process on this machine. It is told our pid so it exits if we die
/// without cleaning up; disposing kills it and waits for it.
/// </summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private readonly Process _process;
    private readonly Queue<string> _stderrTail = new();
    private readonly Lock _gate = new();

    private AgentProcess(Process process, string role)
    {
        _process = process;
        Role = role;
    }

    public string Role { get; }
    public int Pid => _process.Id;
    public AgentInfo Info { get; private set; } = null!;
    public AgentClient Client { get; private set; } = null!;
    public bool HasExited => _process.HasExited;

    public string StderrTail
    {
        get
        {
            lock (_gate)
                return string.Join(" | ", _stderrTail);
        }
    }

    /// <summary>Null while running; otherwise what became of the process, for an error message.</summary>
    public string? DeathNotice() =>
        _process.HasExited
            ? $"{Role} agent (pid {Pid}) exited with code "
                + $"{_process.ExitCode}{(StderrTail.Length > 0 ? $": {StderrTail}" : "")}"
            : null;

    /// <summary>
    /// Starts `[prefix...] cnibench-agent serve [serveArguments...] --parent-pid P` with the token in its environment
    /// (not its arguments, which every local user can read) and waits for its ready line.
    /// The prefix runs it elsewhere, e.g. `ip netns exec NS` for the lab.
    /// </summary>
    public static async Task<AgentProcess> StartAsync(
        AgentCommand command,
        string role,
        IReadOnlyList<string> prefix,
        IReadOnlyList<string> serveArguments,
        string token,
        CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? identity = null
    )
    {
        string[] agentCommand =
        [
            command.FileName,
            .. command.PrefixArguments,
            "serve",
            .. serveArguments,
            "--parent-pid",
            Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
        ];
        string[] full = [.. prefix, .. agentCommand];
        var start = new ProcessStartInfo(full[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // A stdin of its own, closed at once: the controller's may be a terminal or a test runner's pipe, which
            // no agent should hold open or read.
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in full.Skip(1))
            start.ArgumentList.Add(a);
        start.Environment[Contracts.Protocol.ControlProtocol.TokenVariable] = token;
        // The agent answers HTTP with its identity: what the target says it is, never what leaked in from our
        // environment.
        start.Environment["POD_NAME"] = identity?.GetValueOrDefault("POD_NAME");
        start.Environment["NODE_NAME"] = identity?.GetValueOrDefault("NODE_NAME");

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new TargetException($"could not start {command.FileName}");
            process.StandardInput.Close();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new TargetException($"could not start {command.FileName}: {e.Message}");
        }
        var agent = new AgentProcess(process, role);
        try
        {
            process.ErrorDataReceived += (_, e) => agent.KeepStderr(e.Data);
            process.BeginErrorReadLine();
            await agent.ReadReadyLineAsync(token, cancellationToken);
            return agent;
        }
        catch
        {
            await agent.DisposeAsync();
            throw;
        }
    }

    private void KeepStderr(string? line)
    {
        if (line is null)
            return;
        lock (_gate)
        {
            _stderrTail.Enqueue(line);
            while (_stderrTail.Count > 5)
                _stderrTail.Dequeue();
        }
    }

    private async Task ReadReadyLineAsync(string token, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        string? line;
        try
        {
            line = await _process.StandardOutput.ReadLineAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TargetException(
                $"{Role} agent (pid {Pid}) did not report ready within {StartTimeout.TotalSeconds:0}s: {StderrTail}"
            );
        }
        if (line is null)
        {
            await _process.WaitForExitAsync(CancellationToken.None);
            throw new TargetException(DeathNotice() ?? $"{Role} agent closed its output");
        }
        Info = JsonSerializer.Deserialize(line, ContractsJson.Default.AgentInfo)
            ?? throw new TargetException($"{Role} agent printed an unreadable ready line: {line}");
        if (Info.ControlSocket is { } socketPath)
        {
            Client = AgentClient.ForUnixSocket(socketPath, token);
            return;
        }
        var host = Endpoints.Format(new IPEndPoint(IPAddress.Parse(Info.Bind), Info.Ports.Control));
        Client = new AgentClient(new Uri($"http://{host}/"), token);
    }

    /// <summary>Whether the agent answers its control API within a second (a SIGSTOPped one does not).</summary>
    public async Task<bool> AnswersAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await Client.InfoAsync(timeout.Token);
            return true;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or AgentRequestException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        await StopAsync(_process);
    }

    /// <summary>Kills a child the controller started, with its children, waits for it (at most 10 s) and disposes
    /// it.</summary>
    public static async Task StopAsync(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await process.WaitForExitAsync(wait.Token);
            }
        }
        catch (Exception e)
            when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            // Already gone, or refused to die in time: nothing more we can do from here.
        }
        process.Dispose();
    }
}
