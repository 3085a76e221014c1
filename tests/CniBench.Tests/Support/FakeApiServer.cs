using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace CniBench.Tests.Support;

/// <summary>
/// An in-process HTTP server that answers as the Kubernetes API does, for the kube client's tests: each
/// test routes requests to its own handler and sees every request it got (method, path and query,
/// headers, body). Helpers write JSON objects, Status errors and chunked watch streams.
/// </summary>
public sealed class FakeApiServer : IAsyncDisposable
{
    public sealed record Request(
        string Method,
        string PathAndQuery,
        string? Authorization,
        string? ContentType,
        string Body,
        System.Collections.Specialized.NameValueCollection Headers
    )
    {
        /// <summary>Whether this request writes an object whose path contains <paramref name="part"/>: an apply
        /// (PATCH) of that path, or a create (POST) of that name in its collection.</summary>
        public bool Writes(string part) =>
            Method switch
            {
                "PATCH" => PathAndQuery.Split('?')[0].Contains(part, StringComparison.Ordinal),
                "POST" => Body.StartsWith('{')
                    && System.Text.Json.Nodes.JsonNode.Parse(Body)?["metadata"]?["name"] is { } name
                    && $"{PathAndQuery.Split('?')[0]}/{name}".Contains(part, StringComparison.Ordinal),
                _ => false,
            };
    }

    private readonly HttpListener _listener = new();
    private readonly Func<Request, HttpListenerResponse, Task> _handler;
    private readonly Func<HttpListenerContext, Task>? _webSocket;
    private readonly Task _loop;
    private readonly List<Request> _requests = new();

    /// <param name="webSocket">Takes WebSocket upgrade requests (pods/exec), if given.</param>
    public FakeApiServer(
        Func<Request, HttpListenerResponse, Task> handler,
        Func<HttpListenerContext, Task>? webSocket = null
    )
    {
        _handler = handler;
        _webSocket = webSocket;
        int port = FreePort();
        Uri = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(Uri.ToString());
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public Uri Uri { get; }

    public IReadOnlyList<Request> Requests
    {
        get
        {
            lock (_requests)
                return _requests.ToArray();
        }
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }
            if (context.Request.IsWebSocketRequest && _webSocket is not null)
            {
                lock (_requests)
                    _requests.Add(
                        new Request(
                            "WEBSOCKET",
                            context.Request.Url!.PathAndQuery,
                            context.Request.Headers["Authorization"],
                            null,
                            "",
                            context.Request.Headers
                        )
                    );
                _ = Task.Run(() => _webSocket(context));
                continue;
            }
            _ = Task.Run(async () =>
            {
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var request = new Request(
                    context.Request.HttpMethod,
                    context.Request.Url!.PathAndQuery,
                    context.Request.Headers["Authorization"],
                    context.Request.ContentType,
                    await reader.ReadToEndAsync(),
                    context.Request.Headers
                );
                lock (_requests)
                    _requests.Add(request);
                try
                {
                    await _handler(request, context.Response);
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException) { }
                finally
                {
                    try
                    {
                        context.Response.Close();
                    }
                    catch (ObjectDisposedException) { }
                }
            });
        }
    }

    public static async Task Json(HttpListenerResponse response, JsonNode body, int status = 200)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes);
    }

    /// <summary>A metav1.Status error as the API server returns it.</summary>
    public static Task Status(HttpListenerResponse response, int code, string reason, string message) =>
        Json(
            response,
            new JsonObject
            {
                ["kind"] = "Status",
                ["apiVersion"] = "v1",
                ["status"] = "Failure",
                ["message"] = message,
                ["reason"] = reason,
                ["code"] = code,
            },
            code
        );

    /// <summary>A chunked watch stream: one JSON event per line, flushed one by one.</summary>
    public static async Task Watch(HttpListenerResponse response, params JsonObject[] events)
    {
        response.StatusCode = 200;
        response.ContentType = "application/json";
        response.SendChunked = true;
        foreach (var e in events)
        {
            var bytes = Encoding.UTF8.GetBytes(e.ToJsonString() + "\n");
            await response.OutputStream.WriteAsync(bytes);
            await response.OutputStream.FlushAsync();
        }
    }

    public static JsonObject Event(string type, string name, string resourceVersion) =>
        new()
        {
            ["type"] = type,
            ["object"] = new JsonObject
            {
                ["kind"] = "Pod",
                ["apiVersion"] = "v1",
                ["metadata"] = new JsonObject { ["name"] = name, ["resourceVersion"] = resourceVersion },
            },
        };

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
