using System.Net;
using System.Net.Sockets;
using System.Text;
using CniBench.Agent.Wire;
using CniBench.Agent.Workloads;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Agent;

/// <summary>The client side against a target that is not an agent and not friendly: what it sends must not grow a
/// job's result without bound.</summary>
[Trait(Category.Name, Category.Integration)]
public class HostileTargetTests
{
    [Fact]
    public async Task A_target_naming_a_new_backend_and_peer_per_response_grows_no_result_past_the_bound()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var serving = ServeNewNamesAsync(listener, stop.Token);

        var (result, _) = await Jobs.RunAsync(
            new WorkloadSpec
            {
                Kind = WorkloadKind.Http,
                Target = Endpoints.Format((IPEndPoint)listener.LocalEndpoint),
                Parallel = 4,
                KeepAlive = true,
            },
            durationMs: 1500
        );
        await stop.CancelAsync();
        await serving;

        Assert.True(result.Transactions > 2 * ServerNamedKeys.MaxKeys, $"only {result.Transactions} responses");
        Assert.InRange(result.Backends.Count, 2, ServerNamedKeys.MaxKeys);
        Assert.InRange(result.Sources!.Count, 2, ServerNamedKeys.MaxKeys);
        Assert.All(result.BackendWindows!, w => Assert.InRange(w.Count, 1, ServerNamedKeys.MaxKeys));
        // Nothing is lost: what did not get a name of its own is counted as other.
        Assert.True(result.Backends[ServerNamedKeys.Other] > 0);
        Assert.Equal(result.Backends.Values.Sum(), result.Sources.Values.Sum());
        Assert.DoesNotContain(result.Backends.Keys, k => k.Length > ServerNamedKeys.MaxKeyLength);
    }

    /// <summary>Answers every request with a backend and a peer never named before; one of them 10 KB long.</summary>
    private static async Task ServeNewNamesAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        var connections = new List<Task>();
        long n = 0;
        try
        {
            while (true)
            {
                var client = await listener.AcceptSocketAsync(cancellationToken);
                connections.Add(
                    Task.Run(
                        async () =>
                        {
                            using (client)
                            {
                                var buffer = new byte[8192];
                                var pending = new StringBuilder();
                                while (true)
                                {
                                    int read = await client.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                                    if (read == 0)
                                        return;
                                    pending.Append(Encoding.ASCII.GetString(buffer, 0, read));
                                    var text = pending.ToString();
                                    int requests = 0,
                                        at = 0;
                                    while ((at = text.IndexOf("\r\n\r\n", at, StringComparison.Ordinal)) >= 0)
                                    {
                                        requests++;
                                        at += 4;
                                    }
                                    pending
                                        .Clear()
                                        .Append(text[text.LastIndexOf("\r\n\r\n", StringComparison.Ordinal)..][4..]);
                                    var answers = new StringBuilder();
                                    for (int i = 0; i < requests; i++)
                                    {
                                        long id = Interlocked.Increment(ref n);
                                        string name = id == 7 ? new string('x', 10_000) : $"pod-{id}";
                                        answers.Append(
                                            System.Globalization.CultureInfo.InvariantCulture,
                                            $"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n{EchoHeaders.Backend}: {name}\r\n"
                                                + $"{EchoHeaders.Peer}: 10.0.{id / 250 % 250}.{id % 250}\r\n\r\n"
                                        );
                                    }
                                    await client.SendAsync(
                                        Encoding.ASCII.GetBytes(answers.ToString()),
                                        cancellationToken
                                    );
                                }
                            }
                        },
                        cancellationToken
                    )
                );
            }
        }
        catch (OperationCanceledException) { }
        try
        {
            await Task.WhenAll(connections);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException) { }
    }
}
