using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using CniBench.Cli.Agents;
using CniBench.Cli.Targets;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Scale;

/// <summary>
/// The controller's CPU for driving many agents through one case, with its real agent client: starting agents
/// (real agent processes, as many as --started; each costs a runtime's memory, so 500 of them do not fit every
/// machine), then, on --agents agents of a farm process (<see cref="AgentFarm"/>), creating a job on each, starting
/// them all at one instant, polling each every second for its samples, and collecting and merging their results.
/// Each job is one slow HTTP client (a request a second) against the farm's first agent. CPU is this process's own:
/// the agents run in the farm's.
///
///   cnibench-scale agents [--agents 500] [--window 5] [--started 100] [--concurrency 64]
/// </summary>
public static class AgentScale
{
    public static async Task<int> RunAsync(string[] args)
    {
        int agents = int.Parse(AgentFarm.Arg(args, "--agents", "500"), CultureInfo.InvariantCulture),
            window = int.Parse(AgentFarm.Arg(args, "--window", "5"), CultureInfo.InvariantCulture),
            started = int.Parse(AgentFarm.Arg(args, "--started", "100"), CultureInfo.InvariantCulture),
            concurrency = int.Parse(AgentFarm.Arg(args, "--concurrency", "64"), CultureInfo.InvariantCulture);
        string token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        var rows = new List<string>();
        void Row(string phase, int count, Measure m, string note = "") =>
            rows.Add(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"| {phase} | {count:N0} | {m.WallMs:0} ms | {m.CpuMs:0} ms | {m.CpuMs / count:0.00} ms | "
                        + $"{m.CpuMs / count * 5500 / 1000:0.0} s | {note} |"
                )
            );

        // The first hundred starts in a process cost the most: its code is compiled on first use and again once hot.
        Row("start real agent processes, 8 at a time", started, await StartRealAgentsAsync(started, token, 8));
        Row("start real agent processes, one by one", started, await StartRealAgentsAsync(started, token, 1));

        string dir = Directory.CreateTempSubdirectory("cnibench-scale-").FullName;
        using var farm = StartFarm(agents, dir, token);
        try
        {
            string? ready = await farm.StandardOutput.ReadLineAsync();
            if (ready is null || !ready.StartsWith("ready ", StringComparison.Ordinal))
                throw new InvalidOperationException(
                    $"the farm did not start: {await farm.StandardError.ReadToEndAsync()}"
                );
            int httpPort = int.Parse(ready[6..], CultureInfo.InvariantCulture);
            var clients = Enumerable
                .Range(0, agents)
                .Select(i => AgentClient.ForUnixSocket(Path.Combine(dir, $"a{i}.sock"), token))
                .ToArray();
            var spec = new JobSpec(
                new WorkloadSpec
                {
                    Kind = WorkloadKind.Http,
                    Target = $"127.0.0.1:{httpPort}",
                    ThinkTimeMs = 1000,
                    ResponseSize = 1000,
                },
                0,
                window * 1000
            );
            var ids = new string[agents];
            Row(
                "create a job on each",
                agents,
                await MeasureAsync(() =>
                    ForEachAsync(agents, concurrency, async i =>
                        ids[i] = (await clients[i].CreateJobAsync(spec, default)).Id
                    )
                )
            );

            // As the runner does: every start sent before the common instant, which leaves them a lead to arrive in.
            long startAt = DateTimeOffset.UtcNow.AddSeconds(2).ToUnixTimeMilliseconds();
            long lastAnswer = 0;
            var start = await MeasureAsync(() => ForEachAsync(agents, concurrency, async i =>
                {
                    await clients[i].StartJobAsync(ids[i], startAt, default);
                    Interlocked.Exchange(
                        ref lastAnswer,
                        Math.Max(lastAnswer, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())
                    );
                }));
            Row("start all at one instant", agents, start, $"last start answered {startAt - lastAnswer} ms before it");

            var statuses = new JobStatus?[agents];
            var cursors = new int[agents];
            var firstSample = new long[agents];
            double pollCpu = 0,
                pollWall = 0;
            int rounds = 0;
            while (statuses.Any(s => s?.State is not (JobState.Done or JobState.Failed)))
            {
                await Task.Delay(1000);
                var round = await MeasureAsync(() => ForEachAsync(agents, concurrency, async i =>
                    {
                        if (statuses[i]?.State is JobState.Done or JobState.Failed)
                            return;
                        var status = await clients[i].PollAsync(ids[i], cursors[i], default);
                        if (cursors[i] == 0 && status.Samples.Count > 0)
                            firstSample[i] = status.Samples[0].TimestampUnixMs;
                        cursors[i] = status.NextCursor;
                        statuses[i] = status;
                    }));
                pollCpu += round.CpuMs;
                pollWall += round.WallMs;
                rounds++;
            }
            var sampled = firstSample.Where(t => t > 0).ToArray();
            Row(
                $"poll each every second ({rounds} rounds)",
                agents * rounds,
                new Measure(pollWall, pollCpu),
                $"first samples within {sampled.Max() - sampled.Min()} ms of each other"
            );

            var merged = new LatencyHistogram();
            var collect = await MeasureAsync(() =>
            {
                foreach (var status in statuses)
                    if (status?.Result is { } result)
                        merged.Add(result.Latency);
                return Task.CompletedTask;
            });
            int failed = statuses.Count(s => s?.State != JobState.Done);
            Row(
                "merge every result's histogram",
                agents,
                collect,
                $"{merged.Count:N0} requests, p99 {merged.ValueAtQuantile(0.99) / 1000.0:0} µs, {failed} failed"
            );
            foreach (var client in clients)
                client.Dispose();
        }
        finally
        {
            farm.StandardInput.Close();
            await farm.WaitForExitAsync();
            Directory.Delete(dir, recursive: true);
        }
        Console.WriteLine("| phase | operations | wall | controller CPU | CPU per operation | CPU for 5,500 |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---|");
        rows.ForEach(Console.WriteLine);
        return 0;
    }

    private sealed record Measure(double WallMs, double CpuMs);

    private static async Task<Measure> MeasureAsync(Func<Task> work)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await work();
        return new Measure(
            clock.Elapsed.TotalMilliseconds,
            (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds
        );
    }

    private static Task ForEachAsync(int count, int concurrency, Func<int, Task> body) =>
        Parallel.ForEachAsync(
            Enumerable.Range(0, count),
            new ParallelOptions { MaxDegreeOfParallelism = concurrency },
            async (i, _) => await body(i)
        );

    private static async Task<Measure> StartRealAgentsAsync(int count, string token, int concurrency)
    {
        var command = AgentCommand.Locate();
        string dir = Directory.CreateTempSubdirectory("cnibench-scale-real-").FullName;
        var processes = new System.Collections.Concurrent.ConcurrentBag<AgentProcess>();
        try
        {
            return await MeasureAsync(() =>
                ForEachAsync(count, concurrency, async i =>
                    processes.Add(
                        await AgentProcess.StartAsync(
                            command,
                            "server",
                            [],
                            [
                                "--bind",
                                "127.0.0.1",
                                "--control-socket",
                                Path.Combine(dir, $"r{i}.sock"),
                                "--tcp-port",
                                "0",
                                "--udp-port",
                                "0",
                                "--http-port",
                                "0",
                            ],
                            token,
                            default
                        )
                    )
                )
            );
        }
        finally
        {
            foreach (var p in processes)
                await p.DisposeAsync();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static Process StartFarm(int agents, string dir, string token)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (
            var a in new[]
            {
                "farm",
                "--agents",
                agents.ToString(CultureInfo.InvariantCulture),
                "--dir",
                dir,
                "--token",
                token,
            }
        )
            start.ArgumentList.Add(a);
        return Process.Start(start) ?? throw new InvalidOperationException("could not start the farm");
    }
}
