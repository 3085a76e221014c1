using System.Net;
using System.Text;
using System.Text.Json;
using CniBench.Cli.Agents;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Control;

/// <summary>The control API of a real agent, spoken to over HTTP as a controller does.</summary>
[Trait(Category.Name, Category.Integration)]
public class ControlProtocolTests
{
    private static HttpRequestMessage Request(
        HttpMethod method,
        string path,
        string? version = "1",
        string? token = TestAgentServer.Token,
        string? body = null
    )
    {
        var request = new HttpRequestMessage(method, path);
        if (version is not null)
            request.Headers.Add(ControlProtocol.VersionHeader, version);
        if (token is not null)
            request.Headers.TryAddWithoutValidation("Authorization", $"Bearer {token}");
        if (body is not null)
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        return request;
    }

    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(
        TestAgentServer server,
        HttpRequestMessage request
    )
    {
        using var http = new HttpClient { BaseAddress = server.ControlUri };
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Requests_without_the_token_or_with_another_protocol_version_are_refused_clearly()
    {
        await using var server = new TestAgentServer();
        var (status, body) = await SendAsync(server, Request(HttpMethod.Get, "v1/info", token: null));
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("token", body);

        (status, _) = await SendAsync(server, Request(HttpMethod.Get, "v1/info", token: "wrong"));
        Assert.Equal(HttpStatusCode.Unauthorized, status);

        (status, body) = await SendAsync(server, Request(HttpMethod.Get, "v1/info", version: "2"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("unsupported protocol version '2'; this agent speaks protocol 1", body);

        (status, body) = await SendAsync(server, Request(HttpMethod.Get, "v1/info", version: null));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("missing CniBench-Protocol header", body);

        (status, body) = await SendAsync(server, Request(HttpMethod.Get, "v1/info"));
        Assert.Equal(HttpStatusCode.OK, status);
        var info = JsonSerializer.Deserialize(body, ContractsJson.Default.AgentInfo)!;
        Assert.Equal(ControlProtocol.Version, info.ProtocolVersion);
        Assert.Equal(server.Info.Ports, info.Ports);
        // Asked over loopback, the agent reports loopback's MTU, not the default route's interface.
        Assert.Equal(
            int.Parse(
                File.ReadAllText("/sys/class/net/lo/mtu").Trim(),
                System.Globalization.CultureInfo.InvariantCulture
            ),
            info.Mtu
        );
    }

    [Fact]
    public async Task A_job_goes_prepared_ready_running_done_and_its_samples_come_by_cursor()
    {
        await using var server = new TestAgentServer();
        using var client = new AgentClient(server.ControlUri, TestAgentServer.Token);
        var spec = new JobSpec(
            new WorkloadSpec { Kind = WorkloadKind.TcpRr, Target = server.TcpAddress },
            WarmupMs: 300,
            DurationMs: 1200
        );
        var created = await client.CreateJobAsync(spec, default);
        Assert.Equal(JobState.Ready, created.State);

        long startAt = DateTimeOffset.UtcNow.AddMilliseconds(400).ToUnixTimeMilliseconds();
        var started = await client.StartJobAsync(created.Id, startAt, default);
        Assert.Equal(JobState.Ready, started.State); // waits for the synchronized instant

        var seen = new List<JobState>();
        int cursor = 0;
        var samples = new List<CniBench.Contracts.Measurement.Sample>();
        JobStatus status;
        do
        {
            await Task.Delay(150);
            status = await client.PollAsync(created.Id, cursor, default);
            seen.Add(status.State);
            samples.AddRange(status.Samples);
            cursor = status.NextCursor;
        } while (status.State is not (JobState.Done or JobState.Failed));

        Assert.Equal(JobState.Done, status.State);
        Assert.Contains(JobState.Running, seen);
        Assert.NotNull(status.Result);
        Assert.True(status.Result!.StartedUnixMs >= startAt, "the job started before the agreed instant");
        Assert.Equal(Enumerable.Range(0, samples.Count), samples.Select(s => s.Index)); // no sample lost or repeated
        Assert.Equal(
            status.Result.Transactions,
            samples.Where(s => s.Phase == CniBench.Contracts.Measurement.Phase.Measured).Sum(s => s.Transactions)
        );

        var again = await Assert.ThrowsAsync<AgentRequestException>(() =>
            client.StartJobAsync(created.Id, startAt, default)
        );
        Assert.Equal(409, again.Status);
        Assert.Contains("only a ready job can start", again.Message);
    }

    [Fact]
    public async Task A_running_job_finished_early_is_done_with_what_it_measured_and_the_clock_reads_the_agents_time()
    {
        await using var server = new TestAgentServer();
        using var client = new AgentClient(server.ControlUri, TestAgentServer.Token);
        var job = await client.CreateJobAsync(
            new JobSpec(
                new WorkloadSpec { Kind = WorkloadKind.TcpRr, Target = server.TcpAddress },
                200,
                DurationMs: 60_000
            ),
            default
        );
        var early = await Assert.ThrowsAsync<AgentRequestException>(() => client.FinishJobAsync(job.Id, default));
        Assert.Equal(409, early.Status);
        Assert.Contains("only a running job can finish early", early.Message);

        await client.StartJobAsync(job.Id, 0, default);
        await Task.Delay(1500);
        await client.FinishJobAsync(job.Id, default);
        JobStatus status;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        do status = await client.PollAsync(job.Id, 0, default);
        while (
            status.State == JobState.Running
            && DateTime.UtcNow < deadline
            && await Task.Delay(50).ContinueWith(_ => true)
        );
        Assert.Equal(JobState.Done, status.State);
        Assert.InRange(status.Result!.MeasuredSeconds, 1.0, 3.0); // 1.3 s measured, not the 60 asked for
        Assert.True(status.Result.Transactions > 0);
        Assert.Equal(
            status.Result.Transactions,
            status.Samples.Where(s => s.Phase == CniBench.Contracts.Measurement.Phase.Measured).Sum(s => s.Transactions)
        );

        long before = UnixClock.NowMicroseconds();
        var clock = await client.ClockAsync(default);
        Assert.InRange(clock.UnixUs, before, UnixClock.NowMicroseconds());
    }

    [Fact]
    public async Task An_agent_abandons_a_job_whose_controller_went_silent()
    {
        await using var server = new TestAgentServer();
        using var client = new AgentClient(server.ControlUri, TestAgentServer.Token);
        var spec = new JobSpec(
            new WorkloadSpec { Kind = WorkloadKind.TcpStream, Target = server.TcpAddress },
            0,
            DurationMs: 30_000,
            ControllerTimeoutMs: 600
        );
        var job = await client.CreateJobAsync(spec, default);
        await client.StartJobAsync(job.Id, 0, default);
        await Task.Delay(1500); // no polls: the controller is "gone"
        var status = await client.PollAsync(job.Id, 0, default);
        Assert.Equal(JobState.Failed, status.State);
        Assert.Contains("controller silent", status.Error);
    }

    [Fact]
    public async Task Bad_job_specs_and_unknown_jobs_get_clear_errors()
    {
        await using var server = new TestAgentServer();
        using var client = new AgentClient(server.ControlUri, TestAgentServer.Token);
        var invalid = await Assert.ThrowsAsync<AgentRequestException>(() =>
            client.CreateJobAsync(
                new JobSpec(
                    new WorkloadSpec
                    {
                        Kind = WorkloadKind.TcpRr,
                        Target = server.TcpAddress,
                        Parallel = 0,
                    },
                    0,
                    50
                ),
                default
            )
        );
        Assert.Equal(400, invalid.Status);
        Assert.Contains("parallel: 0 is out of range", invalid.Message);
        Assert.Contains("durationMs: 50 is out of range", invalid.Message);

        var missing = await Assert.ThrowsAsync<AgentRequestException>(() => client.PollAsync("job-999", 0, default));
        Assert.Equal(404, missing.Status);

        var (status, body) = await SendAsync(server, Request(HttpMethod.Post, "v1/jobs", body: "{not json"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("malformed JSON", body);
    }

    [Fact]
    public async Task A_client_job_whose_server_cannot_be_reached_fails_at_preparation()
    {
        await using var server = new TestAgentServer();
        using var client = new AgentClient(server.ControlUri, TestAgentServer.Token);
        var status = await client.CreateJobAsync(
            new JobSpec(new WorkloadSpec { Kind = WorkloadKind.TcpRr, Target = "127.0.0.1:1" }, 0, 1000),
            default
        );
        Assert.Equal(JobState.Failed, status.State);
        Assert.Contains("cannot connect to 127.0.0.1:1: connection refused", status.Error);
    }

    /// <summary>A TLS job completes one handshake before it is ready: with an agent's TCP port it succeeds (and the
    /// first, cold handshake is paid before the window); with a port that does not speak TLS the job fails there,
    /// saying so.</summary>
    [Fact]
    public async Task A_tls_job_shakes_hands_once_at_preparation()
    {
        await using var server = new TestAgentServer();
        using var client = new AgentClient(server.ControlUri, TestAgentServer.Token);
        var ready = await client.CreateJobAsync(
            new JobSpec(new WorkloadSpec { Kind = WorkloadKind.TlsCrr, Target = server.TcpAddress }, 0, 1000),
            default
        );
        Assert.True(ready.State == JobState.Ready, ready.Error);

        using var plain = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        plain.Start();
        int port = ((System.Net.IPEndPoint)plain.LocalEndpoint).Port;
        var answering = Task.Run(async () =>
        {
            using var accepted = await plain.AcceptTcpClientAsync();
            await accepted.GetStream().WriteAsync("HTTP/1.1 400 Bad Request\r\n\r\n"u8.ToArray());
        });
        var refused = await client.CreateJobAsync(
            new JobSpec(new WorkloadSpec { Kind = WorkloadKind.TlsCrr, Target = $"127.0.0.1:{port}" }, 0, 1000),
            default
        );
        await answering;
        Assert.Equal(JobState.Failed, refused.State);
        Assert.Contains(
            $"no TLS 1.3 handshake with 127.0.0.1:{port} (is it a cnibench agent's TCP port?)",
            refused.Error
        );
    }
}

/// <summary>What a controller makes of answers no agent sends: a proxy in between may give them.</summary>
[Trait(Category.Name, Category.Integration)]
public class AgentClientAnswerTests
{
    [Theory]
    [InlineData("")]
    [InlineData("<html>502</html>")]
    public async Task A_success_without_json_is_an_agent_request_error_not_a_json_exception(string body)
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serve = Task.Run(async () =>
        {
            using var connection = await listener.AcceptTcpClientAsync();
            var stream = connection.GetStream();
            var buffer = new byte[4096];
            var seen = new StringBuilder();
            while (!seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                seen.Append(Encoding.ASCII.GetString(buffer, 0, await stream.ReadAsync(buffer)));
            await stream.WriteAsync(
                Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                        + $"{body.Length}\r\nConnection: close\r\n\r\n{body}"
                )
            );
        });
        using var client = new AgentClient(
            new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/"),
            TestAgentServer.Token
        );
        var e = await Assert.ThrowsAsync<AgentRequestException>(() =>
            client.NetStackAsync(TestContext.Current.CancellationToken)
        );
        Assert.Contains("unreadable answer to /v1/netstack", e.Message);
        await serve.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }
}
