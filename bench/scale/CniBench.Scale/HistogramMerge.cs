using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;

namespace CniBench.Scale;

/// <summary>
/// How much controller CPU it takes to fold the latency of many agents into one case: each agent's result carries a
/// histogram snapshot (JSON on the wire); the controller reads them and merges them into one histogram, from which
/// every percentile is taken. Agents' histograms are made from recorded-looking latencies (log-normal around 300 µs,
/// a tail to tens of ms), 10,000 transactions each.
///
///   dotnet run -c Release --project bench/scale/CniBench.Scale -- merge [--agents 500,5500] [--rounds 5]
/// </summary>
public static class HistogramMerge
{
    public static int Run(string[] args)
    {
        var agentCounts = new[] { 500, 5500 };
        int rounds = 5;
        for (int i = 0; i < args.Length - 1; i += 2)
        {
            if (args[i] == "--agents")
                agentCounts = args[i + 1].Split(',').Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray();
            else if (args[i] == "--rounds")
                rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
        }

        var random = new Random(42);
        Console.WriteLine(
            "| agents | snapshot JSON, total | read (parse) | merge | p50/p99/p99.9 | CPU for all three |"
        );
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
        foreach (int agents in agentCounts)
        {
            var documents = Enumerable
                .Range(0, agents)
                .Select(_ => JsonSerializer.Serialize(Snapshot(random), ContractsJson.Default.HistogramSnapshot))
                .ToArray();
            long jsonBytes = documents.Sum(d => (long)d.Length);
            var parse = new List<double>();
            var merge = new List<double>();
            var query = new List<double>();
            var cpu = new List<double>();
            for (int round = 0; round < rounds; round++)
            {
                var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                var clock = Stopwatch.StartNew();
                var snapshots = documents
                    .Select(d => JsonSerializer.Deserialize(d, ContractsJson.Default.HistogramSnapshot)!)
                    .ToArray();
                parse.Add(clock.Elapsed.TotalMilliseconds);
                clock.Restart();
                var merged = new LatencyHistogram();
                foreach (var snapshot in snapshots)
                    merged.Add(snapshot);
                merge.Add(clock.Elapsed.TotalMilliseconds);
                clock.Restart();
                double p = merged.ValueAtQuantile(0.5) + merged.ValueAtQuantile(0.99) + merged.ValueAtQuantile(0.999);
                query.Add(clock.Elapsed.TotalMilliseconds);
                cpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds);
                if (p <= 0 || merged.Count != agents * 10_000L)
                    throw new InvalidOperationException("the merge lost transactions");
            }
            Console.WriteLine(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"| {agents:N0} | {jsonBytes / 1e6:0.0} MB | {Median(parse):0.0} ms | {Median(merge):0.0} ms | "
                        + $"{Median(query):0.00} ms | {Median(cpu):0} ms |"
                )
            );
        }
        Console.WriteLine($"medians over {rounds} rounds; the first round includes JIT");
        return 0;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static HistogramSnapshot Snapshot(Random random)
    {
        var h = new LatencyHistogram();
        for (int i = 0; i < 10_000; i++)
        {
            // Box-Muller: a log-normal latency, median 300 µs, one in a hundred about 6× that.
            double normal =
                Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            h.Record((long)(300_000 * Math.Exp(0.8 * normal)));
        }
        return h.ToSnapshot();
    }
}
