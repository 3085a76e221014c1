using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace CniBench.Tests.Support;

/// <summary>Runs cnibench or cnibench-agent (built next to the tests) as a real child process.</summary>
public sealed partial class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource _firstStdoutLine = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildProcess(Process process) => _process = process;

    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public string Stdout
    {
        get
        {
            lock (_stdout)
                return _stdout.ToString();
        }
    }
    public string Stderr
    {
        get
        {
            lock (_stderr)
                return _stderr.ToString();
        }
    }
    public Task FirstStdoutLine => _firstStdoutLine.Task;

    public static ChildProcess Start(string program, string workingDirectory, params string[] args) =>
        Start(program, workingDirectory, null, args);

    /// <summary>Starts with NO_COLOR=1 (plain output to assert on) unless <paramref name="environment"/> says
    /// otherwise; a null value removes a variable.</summary>
    public static ChildProcess Start(
        string program,
        string workingDirectory,
        IReadOnlyDictionary<string, string?>? environment,
        params string[] args
    )
    {
        var start = new ProcessStartInfo(
            Path.IsPathRooted(program) ? program : Path.Combine(AppContext.BaseDirectory, program)
        )
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // Never the test process's own stdin: under dotnet test it is the runner's, and a child that reads
            // stdin (script does) has no business with it.
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in args)
            start.ArgumentList.Add(a);
        start.Environment["NO_COLOR"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
            if (value is null)
                start.Environment.Remove(name);
            else
                start.Environment[name] = value;
        var child = new ChildProcess(Process.Start(start)!);
        child._process.StandardInput.Close();
        child._process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (child._stdout)
                child._stdout.AppendLine(e.Data);
            child._firstStdoutLine.TrySetResult();
        };
        child._process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (child._stderr)
                child._stderr.AppendLine(e.Data);
        };
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        string program,
        string workingDirectory,
        TimeSpan timeout,
        params string[] args
    ) => RunAsync(program, workingDirectory, timeout, null, args);

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        string program,
        string workingDirectory,
        TimeSpan timeout,
        IReadOnlyDictionary<string, string?>? environment,
        params string[] args
    )
    {
        await using var child = Start(program, workingDirectory, environment, args);
        int code = await child.WaitAsync(timeout);
        return (code, child.Stdout, child.Stderr);
    }

    public async Task<int> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException(
                $"{_process.StartInfo.FileName} did not exit within {timeout}; stderr: {Stderr}"
            );
        }
        _process.WaitForExit(); // flushes the redirected streams
        return _process.ExitCode;
    }

    public void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0)
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed");
    }

    public const int SIGINT = 2,
        SIGKILL = 9,
        SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    public static void KillPid(int pid, int signal) => Kill(pid, signal);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}

/// <summary>Looks through /proc for agents a controller started (they carry --parent-pid).</summary>
public static class AgentProcesses
{
    public static IReadOnlyList<int> ChildrenOf(int parentPid) =>
        Directory
            .EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out int pid) ? pid : -1)
            .Where(pid => pid > 0)
            .Where(pid =>
            {
                try
                {
                    var args = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
                    int i = Array.IndexOf(args, "--parent-pid");
                    return args.Any(a => a.Contains("cnibench-agent"))
                        && i >= 0
                        && i + 1 < args.Length
                        && args[i + 1] == parentPid.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                    return false;
                }
                catch (UnauthorizedAccessException)
                {
                    return false;
                }
            })
            .ToArray();

    public static bool IsAlive(int pid)
    {
        try
        {
            // A zombie still has a /proc entry: look at its state too.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}

public sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("cnibench-test-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException) { }
    }
}
