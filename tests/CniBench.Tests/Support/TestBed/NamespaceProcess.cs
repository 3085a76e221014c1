using System.Diagnostics;
using System.Text;

namespace CniBench.Tests.Support.TestBed;

/// <summary>A program run inside a network namespace (ip netns exec), its stdout and stderr appended to a log
/// file.</summary>
public static class NamespaceProcess
{
    public static Process Start(
        string ns,
        string program,
        IEnumerable<string> args,
        string logPath,
        IReadOnlyDictionary<string, string>? environment = null
    )
    {
        var start = new ProcessStartInfo("ip")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // not the test process's stdin: it carries the test runner's protocol
        };
        foreach (var a in new[] { "netns", "exec", ns, program }.Concat(args))
            start.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
            start.Environment[k] = v;
        var process = Process.Start(start)!;
        var writer = new StreamWriter(logPath, append: true, Encoding.UTF8) { AutoFlush = true };
        bool closed = false;
        void Write(string? line)
        {
            if (line is null)
                return;
            lock (writer)
                if (!closed)
                    writer.WriteLine(line);
        }
        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.Exited += (_, _) =>
        {
            lock (writer)
            {
                closed = true;
                writer.Dispose();
            }
        };
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
