using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using CniBench.Cli.Targets.Kube.Api;
using CniBench.Tests.Support;

namespace CniBench.Tests.Kube;

/// <summary>The kube client against an API server having a bad day: cut watches, 410 on a watch, silence, 429 and
/// 5xx.</summary>
[Trait(Category.Name, Category.Integration)]
public class KubeClientFaultTests
{
    private static readonly KubeResource Pods = KubeResource.Core("pods", "bench");
    private static readonly RetryPolicy Quick = new(
        BaseDelay: TimeSpan.FromMilliseconds(20),
        MaxDelay: TimeSpan.FromSeconds(2)
    );

    private static Task List(HttpListenerResponse response, string version) =>
        FakeApiServer.Json(
            response,
            new JsonObject
            {
                ["kind"] = "PodList",
                ["metadata"] = new JsonObject { ["resourceVersion"] = version },
                ["items"] = new JsonArray(),
            }
        );

    [Fact]
    public async Task A_watch_cut_mid_stream_or_answered_410_is_resumed_or_listed_again_and_never_escapes()
    {
        int watches = 0;
        await using var server = new FakeApiServer(
            async (request, response) =>
            {
                if (!request.PathAndQuery.Contains("watch=1"))
                {
                    await List(response, "5");
                    return;
                }
                switch (Interlocked.Increment(ref watches))
                {
                    case 1: // an event, then half of the next one, then the connection drops
                        response.StatusCode = 200;
                        response.SendChunked = true;
                        var bytes = System.Text.Encoding.UTF8.GetBytes(
                            FakeApiServer.Event("ADDED", "a", "6").ToJsonString() + "\n{\"type\":\"MODIF"
                        );
                        await response.OutputStream.WriteAsync(bytes);
                        await response.OutputStream.FlushAsync();
                        response.Abort();
                        break;
                    case 2: // the watch request itself answered 410, not an ERROR event
                        await FakeApiServer.Status(response, 410, "Expired", "too old resource version: 6 (9)");
                        break;
                    default:
                        await FakeApiServer.Watch(response, FakeApiServer.Event("MODIFIED", "b", "21"));
                        break;
                }
            }
        );
        using var client = new KubeClient(KubeClientTests.To(server), retry: Quick);
        var seen = new List<string>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var watcher = new KubeWatcher(client, Pods, null)
        {
            Silence = TimeSpan.FromSeconds(5),
            RetryPause = TimeSpan.FromMilliseconds(50),
        };
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
    }

    [Fact]
    public async Task A_server_that_never_answers_is_given_up_on_after_the_request_timeout()
    {
        await using var server = new FakeApiServer(async (_, _) => await Task.Delay(TimeSpan.FromSeconds(30)));
        using var client = new KubeClient(KubeClientTests.To(server), retry: Quick with { MaxRetries = 1 })
        {
            RequestTimeout = TimeSpan.FromMilliseconds(500),
        };
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<KubeConnectionException>(() => client.GetAsync(Pods.Named("a"), default));
        Assert.Contains("no answer within", e.Message);
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.9, 10); // two tries of half a second, not for ever
    }

    [Fact]
    public async Task Too_many_requests_is_retried_after_the_wait_the_server_asks_for_even_for_a_create()
    {
        int calls = 0;
        await using var server = new FakeApiServer(
            async (request, response) =>
            {
                if (Interlocked.Increment(ref calls) == 1)
                {
                    response.AddHeader("Retry-After", "1");
                    await FakeApiServer.Status(response, 429, "TooManyRequests", "too many requests");
                    return;
                }
                await FakeApiServer.Json(response, JsonNode.Parse(request.Body)!, 201);
            }
        );
        using var client = new KubeClient(KubeClientTests.To(server), retry: Quick);
        var clock = Stopwatch.StartNew();
        var created = await client.CreateAsync(
            Pods,
            new JsonObject { ["metadata"] = new JsonObject { ["name"] = "a" } },
            default
        );
        Assert.Equal("a", (string?)created["metadata"]!["name"]);
        Assert.Equal(2, calls);
        Assert.True(
            clock.Elapsed >= TimeSpan.FromSeconds(0.9),
            $"retried after {clock.Elapsed.TotalMilliseconds:0} ms, before the server's Retry-After"
        );
    }

    [Fact]
    public async Task Server_errors_are_retried_for_reads_but_a_create_the_server_may_have_done_is_not_repeated()
    {
        int gets = 0,
            posts = 0;
        await using var server = new FakeApiServer(
            async (request, response) =>
            {
                if (request.Method == "POST")
                {
                    Interlocked.Increment(ref posts);
                    await FakeApiServer.Status(response, 500, "InternalError", "etcd timeout");
                    return;
                }
                if (Interlocked.Increment(ref gets) <= 2)
                {
                    await FakeApiServer.Status(response, 503, "ServiceUnavailable", "not ready");
                    return;
                }
                await List(response, "1");
            }
        );
        using var client = new KubeClient(KubeClientTests.To(server), retry: Quick);
        var (items, _) = await client.ListAsync(Pods, null, default);
        Assert.Empty(items);
        Assert.Equal(3, gets);
        await Assert.ThrowsAsync<KubeApiException>(() => client.CreateAsync(Pods, new JsonObject(), default));
        Assert.Equal(1, posts);
    }

    [Fact]
    public async Task Requests_beyond_the_rate_limit_wait_their_turn()
    {
        await using var server = new FakeApiServer((_, response) => List(response, "1"));
        using var client = new KubeClient(KubeClientTests.To(server), retry: Quick with { Qps = 20, Burst = 5 });
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 25).Select(_ => client.ListAsync(Pods, null, default)));
        // 5 at once, the other 20 at 20 a second: about a second, not at once.
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.8, 10);
    }
}
