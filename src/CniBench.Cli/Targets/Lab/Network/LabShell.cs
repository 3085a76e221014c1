using System.Diagnostics;

namespace CniBench.Cli.Targets.Lab.Network;

/// <summary>The lab could not be built or removed; the message carries the tool's own words.</summary>
public sealed class LabException(string message) : Exception(message);

/// <summary>Runs iproute2 and friends, batching commands through stdin; a failure names the command and what the tool
/// said.</summary>
public static class LabShell
{
    public static async Task<string> RunAsync(
        string tool,
        IReadOnlyList<string> arguments,
        string? stdin,
        CancellationToken cancellationToken
    )
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardInput = stdin is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
            start.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new LabException($"could not start {tool}");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new LabException($"{tool} is not installed; 'cnibench doctor' lists what the lab needs");
        }
        using (process)
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin.AsMemory(), cancellationToken);
                process.StandardInput.Close();
            }
            var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
            try
            {
                await process.WaitForExitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Interrupted: the tool must not go on changing a lab that is being taken down.
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
                throw;
            }
            if (process.ExitCode != 0)
                throw new LabException(
                    $"{tool} {string.Join(' ', arguments)} failed: "
                        + $"{(await error).Trim()}{(stdin is null ? "" : $" (batch: {Truncate(stdin)})")}"
                );
            return await output;
        }
    }

    private static string Truncate(string s) =>
        s.Length <= 300 ? s.Replace('\n', ';') : s[..300].Replace('\n', ';') + "…";
}
