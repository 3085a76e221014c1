using System.Net;
using System.Text.Json.Nodes;
using CniBench.Cli.Targets.Kube.Api;
using CniBench.Tests.Support;

namespace CniBench.Tests.Kube;

/// <summary>The kube client against an in-process server that speaks the API's wire format.</summary>
[Trait(Category.Name, Category.Integration)]
public class KubeClientTests
{
    internal static KubeConnection To(FakeApiServer server, string? token = "t0k", ExecCredentialSpec? exec = null) =>
        new(server.Uri, "bench", "test", null, false, null, null, null, token, null, exec);

    private static readonly KubeResource Pods = KubeResource.Core("pods", "bench");

    [Fact]
    public async Task Calls_carry_the_token_and_apply_is_a_server_side_apply_owned_by_cnibench()
    {
        await using var server = new FakeApiServer(
            async (request, response) =>
            {
                if (request.Method == "DELETE")
                    await FakeApiServer.Status(response, 404, "NotFound", "pods \"gone\" not found");
                else if (
                    request.PathAndQuery.StartsWith("/api/v1/namespaces/bench/pods?", StringComparison.Ordinal)
                    && request.Method == "GET"
                )
                    await FakeApiServer.Json(
                        response,
                        new JsonObject
                        {
                            ["kind"] = "PodList",
                            ["metadata"] = new JsonObject { ["resourceVersion"] = "42" },
                            ["items"] = new JsonArray(
                                new JsonObject { ["metadata"] = new JsonObject { ["name"] = "a" } }
                            ),
                        }
                    );
                else
                    await FakeApiServer.Json(
                        response,
                        JsonNode.Parse(request.Body.Length > 0 ? request.Body : "{\"kind\":\"Pod\"}")!
                    );
            }
        );
        using var client = new KubeClient(To(server));
        var pod = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = "agent" },
        };

        var created = await client.CreateAsync(Pods, pod, CancellationToken.None);
        await client.ApplyAsync(Pods.Named("agent"), pod, CancellationToken.None);
        var (items, version) = await client.ListAsync(
            Pods,
            "app.kubernetes.io/managed-by=cnibench",
            CancellationToken.None
        );
        await client.DeleteAsync(Pods.Named("gone"), CancellationToken.None); // already gone: not an error

        Assert.Equal("agent", (string?)created["metadata"]!["name"]);
        Assert.Equal("42", version);
        Assert.Single(items);
        var r = server.Requests;
        Assert.All(r, x => Assert.Equal("Bearer t0k", x.Authorization));
        Assert.Equal(("POST", "/api/v1/namespaces/bench/pods?fieldManager=cnibench"), (r[0].Method, r[0].PathAndQuery));
        Assert.Equal(
            ("PATCH", "/api/v1/namespaces/bench/pods/agent?fieldManager=cnibench&force=true"),
            (r[1].Method, r[1].PathAndQuery)
        );
        Assert.Equal("application/apply-patch+yaml", r[1].ContentType);
        Assert.Equal(
            "/api/v1/namespaces/bench/pods?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dcnibench",
            r[2].PathAndQuery
        );
        Assert.Equal("Foreground", (string?)JsonNode.Parse(r[3].Body)!["propagationPolicy"]);
    }

    [Fact]
    public async Task A_403_names_the_verb_resource_and_namespace_it_needed()
    {
        await using var server = new FakeApiServer(
            (_, response) =>
                FakeApiServer.Status(
                    response,
                    403,
                    "Forbidden",
                    "pods is forbidden: User \"dev\" cannot create resource \"pods\" in API group \"\" in the "
                        + "namespace \"bench\""
                )
        );
        using var client = new KubeClient(To(server));
        var e = await Assert.ThrowsAsync<KubeApiException>(() =>
            client.CreateAsync(Pods, new JsonObject(), CancellationToken.None)
        );
        Assert.Equal(HttpStatusCode.Forbidden, e.Status);
        Assert.StartsWith("forbidden: cnibench needs 'create' on 'pods' in namespace bench", e.Message);
        Assert.Contains("User \"dev\" cannot create", e.Message);

        var deployments = new KubeResource("apps", "v1", "deployments", "bench", "prober");
        Assert.Equal("/apis/apps/v1/namespaces/bench/deployments/prober", deployments.Path);
        var missing = await Assert.ThrowsAsync<KubeApiException>(() =>
            client.GetAsync(deployments, CancellationToken.None)
        );
        Assert.Contains("on 'deployments.apps' in namespace bench", missing.Message);
    }

    [Fact]
    public async Task An_exec_plugin_supplies_the_token_and_runs_again_when_the_server_says_401()
    {
        using var dir = new TempDirectory();
        var script = dir.File("login.sh");
        // Counts its runs; each run hands out a new token, the way a cloud login helper would.
        File.WriteAllText(
            script,
            """
            #!/bin/sh
            n=$(cat "$(dirname "$0")/runs" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$(dirname "$0")/runs"
            case "$KUBERNETES_EXEC_INFO" in *ExecCredential*) ;; *) echo "no exec info" >&2; exit 3;; esac
            printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",'
            echo "\"status\":{\"token\":\"plugin-$n-$PROFILE\",\"expirationTimestamp\":\"2999-01-01T00:00:00Z\"}}"
            """
        );
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await using var server = new FakeApiServer(
            (request, response) =>
                request.Authorization == "Bearer plugin-2-bench"
                    ? FakeApiServer.Json(response, new JsonObject { ["kind"] = "Pod" })
                    : FakeApiServer.Status(response, 401, "Unauthorized", "Unauthorized")
        );
        var exec = new ExecCredentialSpec(
            script,
            [],
            new Dictionary<string, string> { ["PROFILE"] = "bench" },
            "client.authentication.k8s.io/v1",
            dir.Path
        );
        using var client = new KubeClient(To(server, token: null, exec));

        var pod = await client.GetAsync(Pods.Named("x"), CancellationToken.None);
        Assert.Equal("Pod", (string?)pod["kind"]);
        Assert.Equal(["Bearer plugin-1-bench", "Bearer plugin-2-bench"], server.Requests.Select(r => r.Authorization));
        await client.GetAsync(Pods.Named("x"), CancellationToken.None);
        Assert.Equal("2", File.ReadAllText(dir.File("runs")).Trim()); // cached until it expires or is refused
    }

    [Fact]
    public async Task The_watcher_resumes_from_bookmarks_and_lists_again_after_410_gone()
    {
        int watches = 0,
            lists = 0;
        await using var server = new FakeApiServer(
            async (request, response) =>
            {
                if (!request.PathAndQuery.Contains("watch=1"))
                {
                    bool second = Interlocked.Increment(ref lists) > 1;
                    await FakeApiServer.Json(
                        response,
                        new JsonObject
                        {
                            ["kind"] = "PodList",
                            ["metadata"] = new JsonObject { ["resourceVersion"] = second ? "20" : "5" },
                            ["items"] = new JsonArray(),
                        }
                    );
                    return;
                }
                switch (Interlocked.Increment(ref watches))
                {
                    case 1: // an event, a bookmark, then the server's timeout ends the stream
                        await FakeApiServer.Watch(
                            response,
                            FakeApiServer.Event("ADDED", "a", "6"),
                            FakeApiServer.Event("BOOKMARK", "", "9")
                        );
                        break;
                    case 2: // the version is too old by now
                        await FakeApiServer.Watch(
                            response,
                            new JsonObject
                            {
                                ["type"] = "ERROR",
                                ["object"] = new JsonObject
                                {
                                    ["kind"] = "Status",
                                    ["code"] = 410,
                                    ["reason"] = "Expired",
                                    ["message"] = "too old resource version: 9 (15)",
                                },
                            }
                        );
                        break;
                    default:
                        await FakeApiServer.Watch(response, FakeApiServer.Event("MODIFIED", "b", "21"));
                        await Task.Delay(Timeout.Infinite, CancellationToken.None)
                            .WaitAsync(TimeSpan.FromSeconds(10))
                            .ContinueWith(_ => { });
                        break;
                }
            }
        );
        using var client = new KubeClient(To(server));
        var seen = new List<string>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var watcher = new KubeWatcher(client, Pods, null) { Silence = TimeSpan.FromSeconds(5) };
        var run = watcher.RunAsync(
            items =>
            {
                lock (seen)
                    seen.Add($"list {items.Count}");
                return Task.CompletedTask;
            },
            e =>
            {
                lock (seen)
                {
                    seen.Add($"{e.Type} {e.Object["metadata"]!["name"]}");
                    if (e.Type == "MODIFIED")
                        stop.Cancel();
                }
                return Task.CompletedTask;
            },
            stop.Token
        );
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);

        Assert.Equal(["list 0", "ADDED a", "list 0", "MODIFIED b"], seen);
        var watchQueries = server
            .Requests.Where(r => r.PathAndQuery.Contains("watch=1"))
            .Select(r =>
                System.Web.HttpUtility.ParseQueryString(new Uri(server.Uri, r.PathAndQuery).Query)["resourceVersion"]
                ?? ""
            )
            .ToArray();
        Assert.Equal(["5", "9", "20"], watchQueries); // from the list, from the bookmark, from the list after 410
        Assert.All(server.Requests.Where(r => r.PathAndQuery.Contains("watch=1")), r =>
            Assert.Contains("allowWatchBookmarks=true", r.PathAndQuery)
        );
    }
}

/// <summary>pods/exec over the WebSocket channel protocol, against an in-process server that speaks it.</summary>
[Trait(Category.Name, Category.Integration)]
public class KubeExecTests
{
    /// <summary>A pods/exec endpoint as the API server serves it: the command echoed on stdout, a line on stderr, the
    /// exit code on the status channel.</summary>
    internal static async Task ServeExecAsync(HttpListenerContext context, string? protocol, int exitCode)
    {
        var ws = (await context.AcceptWebSocketAsync(protocol)).WebSocket;
        async Task Send(byte channel, string text)
        {
            var bytes = new byte[] { channel }
                .Concat(System.Text.Encoding.UTF8.GetBytes(text))
                .ToArray();
            await ws.SendAsync(bytes, System.Net.WebSockets.WebSocketMessageType.Binary, true, CancellationToken.None);
        }
        var query = System.Web.HttpUtility.ParseQueryString(context.Request.Url!.Query);
        await Send(1, string.Join(' ', query.GetValues("command")!) + "\n");
        await Send(2, "a warning\n");
        if (protocol == "v5.channel.k8s.io")
            await ws.SendAsync(
                new byte[] { 255, 1 },
                System.Net.WebSockets.WebSocketMessageType.Binary,
                true,
                CancellationToken.None
            );
        await Send(
            3,
            exitCode == 0
                ? """{"metadata":{},"status":"Success"}"""
                : """{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code","""
                    + $$$"""
                    "reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"{{{exitCode}}}"}]}}
                    """
        );
        await ws.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    [Theory]
    [InlineData("v5.channel.k8s.io", 0)]
    [InlineData("v4.channel.k8s.io", 3)]
    public async Task Exec_reads_stdout_stderr_and_the_exit_code_from_the_channels(string serverProtocol, int exitCode)
    {
        string? offered = null;
        await using var server = new FakeApiServer(
            (_, response) => FakeApiServer.Status(response, 400, "BadRequest", "expected a WebSocket"),
            context =>
            {
                offered = context.Request.Headers["Sec-WebSocket-Protocol"];
                return ServeExecAsync(context, serverProtocol, exitCode);
            }
        );
        using var client = new KubeClient(
            new KubeConnection(server.Uri, "bench", "test", null, false, null, null, null, "t0k", null, null)
        );
        var result = await KubeExec.RunAsync(
            client,
            "bench",
            "agent-0",
            "agent",
            ["cat", "/proc/sys/net/core/somaxconn"],
            CancellationToken.None
        );

        Assert.Equal("cat /proc/sys/net/core/somaxconn\n", result.Stdout);
        Assert.Equal("a warning\n", result.Stderr);
        Assert.Equal(exitCode, result.ExitCode);
        Assert.Null(result.Failure);
        Assert.Equal("v5.channel.k8s.io, v4.channel.k8s.io", offered); // v5 first, v4 as the fallback
        var request = Assert.Single(server.Requests);
        Assert.Equal("Bearer t0k", request.Authorization);
        Assert.Equal(
            "/api/v1/namespaces/bench/pods/agent-0/exec?stdout=true&stderr=true&container=agent"
                + "&command=cat&command=%2Fproc%2Fsys%2Fnet%2Fcore%2Fsomaxconn",
            request.PathAndQuery
        );
    }

    [Fact]
    public void A_failure_status_that_is_not_an_exit_code_is_reported_as_such()
    {
        Assert.Equal(
            (-1, "container not found (\"agent\")"),
            KubeExec.Outcome(
                """{"status":"Failure","message":"container not found (\"agent\")","reason":"BadRequest"}"""
            )
        );
        Assert.Equal((0, (string?)null), KubeExec.Outcome(null));
    }
}
