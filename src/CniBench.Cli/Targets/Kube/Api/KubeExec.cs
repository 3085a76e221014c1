using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace CniBench.Cli.Targets.Kube.Api;

/// <summary>What a command run in a pod printed, and how it ended (from the API's error channel).</summary>
public sealed record ExecResult(string Stdout, string Stderr, int ExitCode, string? Failure);

/// <summary>
/// `kubectl exec` without kubectl: the pods/exec subresource over a WebSocket speaking the channel protocol.
/// Every binary message starts with its channel (0 stdin, 1 stdout, 2 stderr, 3 the final Status, 4 resize;
/// v5 adds 255 to close a channel). v5.channel.k8s.io is offered first, v4.channel.k8s.io as the fallback;
/// with both, channel 3 carries a Status whose NonZeroExitCode cause holds the exit code.
/// </summary>
public static class KubeExec
{
    public static readonly string[] Protocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

    public static async Task<ExecResult> RunAsync(
        KubeClient kube,
        string ns,
        string pod,
        string? container,
        IReadOnlyList<string> command,
        CancellationToken cancellationToken,
        Func<ClientWebSocket, Uri, CancellationToken, Task>? connect = null
    )
    {
        var query = new StringBuilder("stdout=true&stderr=true");
        if (container is not null)
            query.Append("&container=").Append(Uri.EscapeDataString(container));
        foreach (var part in command)
            query.Append("&command=").Append(Uri.EscapeDataString(part));
        var http = new Uri(
            kube.Connection.Server,
            $"/api/v1/namespaces/{Uri.EscapeDataString(ns)}/pods/{Uri.EscapeDataString(pod)}/exec?{query}"
        );
        var uri = new UriBuilder(http) { Scheme = http.Scheme == "https" ? "wss" : "ws" }.Uri;

        using var socket = new ClientWebSocket();
        foreach (var p in Protocols)
            socket.Options.AddSubProtocol(p);
        if (await kube.TokenAsync(cancellationToken) is { } token)
            socket.Options.SetRequestHeader("Authorization", $"Bearer {token}");
        kube.ConfigureWebSocket(socket.Options);
        try
        {
            await (connect ?? ((s, u, c) => s.ConnectAsync(u, c)))(socket, uri, cancellationToken);
        }
        catch (WebSocketException e)
        {
            throw new KubeConnectionException(
                e.InnerException
                    is HttpRequestException
                    {
                        InnerException: System.Security.Authentication.AuthenticationException
                    } request
                    ? $"exec in {ns}/{pod}: {KubeClient.Describe(request)}"
                    : $"exec in {ns}/{pod}: {e.Message} (does the cluster allow pods/exec for these credentials?)"
            );
        }

        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        string? status = null;
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        while (socket.State == WebSocketState.Open)
        {
            var received = await socket.ReceiveAsync(buffer, cancellationToken);
            if (received.MessageType == WebSocketMessageType.Close)
                break;
            message.Write(buffer, 0, received.Count);
            if (!received.EndOfMessage)
                continue;
            var bytes = message.ToArray();
            message.SetLength(0);
            if (bytes.Length == 0)
                continue;
            var payload = bytes.AsSpan(1);
            switch (bytes[0])
            {
                case 1:
                    stdout.Write(payload);
                    break;
                case 2:
                    stderr.Write(payload);
                    break;
                case 3:
                    status = Encoding.UTF8.GetString(payload);
                    break;
                case 255:
                    break; // v5: the server closed one of its channels
            }
        }
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        var (exit, failure) = Outcome(status);
        return new ExecResult(
            Encoding.UTF8.GetString(stdout.ToArray()),
            Encoding.UTF8.GetString(stderr.ToArray()),
            exit,
            failure
        );
    }

    /// <summary>The exit code from the error channel's Status: Success → 0, NonZeroExitCode → its ExitCode cause,
    /// anything else a failure.</summary>
    public static (int ExitCode, string? Failure) Outcome(string? status)
    {
        if (status is null)
            return (0, null);
        var node = JsonNode.Parse(status) as JsonObject;
        if ((string?)node?["status"] == "Success")
            return (0, null);
        if ((string?)node?["reason"] == "NonZeroExitCode")
        {
            var code = (node?["details"]?["causes"] as JsonArray)
                ?.OfType<JsonObject>()
                .FirstOrDefault(c => (string?)c["reason"] == "ExitCode")
                ?["message"];
            if (int.TryParse((string?)code, out var exit))
                return (exit, null);
        }
        return (-1, (string?)node?["message"] ?? status);
    }
}
