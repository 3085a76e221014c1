using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace CniBench.Cli.Targets.Kube.Api;

/// <summary>
/// The bearer token for each request: a fixed token, a token file read afresh (service-account tokens
/// rotate), or an exec credential plugin run when the last credential expired or the server said 401.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage(
    "Design",
    "CA1001",
    Justification = "The gate is a SemaphoreSlim whose wait handle is never asked for: nothing to release."
)]
public sealed class KubeCredentials(KubeConnection connection)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (string Token, DateTimeOffset? Expires)? _fromPlugin;

    public async Task<string?> TokenAsync(CancellationToken cancellationToken)
    {
        if (connection.Token is { } token)
            return token;
        if (connection.TokenFile is { } file)
            return (await File.ReadAllTextAsync(file, cancellationToken)).Trim();
        if (connection.Exec is not { } exec)
            return null;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (
                _fromPlugin is { } cached
                && (cached.Expires is null || cached.Expires > DateTimeOffset.UtcNow.AddSeconds(10))
            )
                return cached.Token;
            _fromPlugin = await RunPluginAsync(exec, cancellationToken);
            return _fromPlugin.Value.Token;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Forget a plugin's credential (the server refused it); the next request runs the plugin again.</summary>
    public void Invalidate() => _fromPlugin = null;

    public bool CanRefresh => connection.Exec is not null;

    /// <summary>Runs the plugin as kubectl does: KUBERNETES_EXEC_INFO in its environment, an ExecCredential on its
    /// stdout.</summary>
    public static async Task<(string Token, DateTimeOffset? Expires)> RunPluginAsync(
        ExecCredentialSpec exec,
        CancellationToken cancellationToken
    )
    {
        var start = new ProcessStartInfo(exec.Command)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = exec.BaseDirectory,
        };
        foreach (var a in exec.Args)
            start.ArgumentList.Add(a);
        foreach (var (k, v) in exec.Env)
            start.Environment[k] = v;
        start.Environment["KUBERNETES_EXEC_INFO"] = new JsonObject
        {
            ["apiVersion"] = exec.ApiVersion,
            ["kind"] = "ExecCredential",
            ["spec"] = new JsonObject { ["interactive"] = false },
        }.ToJsonString();
        Process process;
        try
        {
            process = Process.Start(start)
                ?? throw new KubeConfigException($"users[].user.exec: could not start {exec.Command}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new KubeConfigException(
                $"users[].user.exec: {exec.Command}: {e.Message} (is the cloud's login helper installed and on PATH?)"
            );
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new KubeConfigException($"users[].user.exec: {exec.Command} did not finish within 60 s");
            }
            if (process.ExitCode != 0)
                throw new KubeConfigException(
                    $"users[].user.exec: {exec.Command} exited with {process.ExitCode}: {(await error).Trim()}"
                );
            JsonObject? status;
            try
            {
                status = JsonNode.Parse(await output)?["status"] as JsonObject;
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new KubeConfigException(
                    $"users[].user.exec: {exec.Command} did not print an ExecCredential: {e.Message}"
                );
            }
            var token = (string?)status?["token"]
                ?? throw new KubeConfigException(
                    $"users[].user.exec: {exec.Command}: the ExecCredential has no status.token (client certificates "
                        + $"from plugins are not supported yet)"
                );
            DateTimeOffset? expires =
                (string?)status?["expirationTimestamp"] is { } text
                && DateTimeOffset.TryParse(
                    text,
                    CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal,
                    out var at
                )
                    ? at
                    : null;
            return (token, expires);
        }
    }
}
