using System.Text.Json;
using CniBench.Agent.Http;
using CniBench.Agent.Wire;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;
using SharpFuzz;

// One fuzz target per parser that reads network bytes. AFL++ feeds each input on standard input; an
// exception that escapes is a crash it keeps. What a parser may legitimately say no with is caught here.
var targets = new Dictionary<string, Action<byte[]>>
{
    ["tcp-hello"] = bytes =>
    {
        if (TcpHello.TryRead(bytes, out var hello, out _))
        {
            if (
                hello.RequestSize is < 0 or > Limits.MaxMessageSize
                || hello.ResponseSize is < 0 or > Limits.MaxMessageSize
            )
                throw new InvalidOperationException($"accepted sizes out of range: {hello}");
            _ = checked(Math.Max(hello.RequestSize, hello.ResponseSize) + 1);
        }
    },
    ["udp-header"] = bytes => UdpHeader.TryRead(bytes, out _),
    ["http"] = bytes =>
    {
        var result = HttpRequestParser.TryParse(bytes, new HttpLimits());
        if (result.Status == ParseStatus.Complete && (result.Consumed <= 0 || result.Consumed > bytes.Length))
            throw new InvalidOperationException($"consumed {result.Consumed} of {bytes.Length}");
    },
    ["control-json"] = bytes =>
    {
        JobSpec? spec;
        try
        {
            spec = JsonSerializer.Deserialize(bytes, ContractsJson.Default.JobSpec);
        }
        catch (JsonException)
        {
            return;
        }
        if (spec?.Workload is { } workload)
            _ = Limits.Check(workload);
    },
    // The files a user hands the CLI: every mistake is a located error (ScenarioException, PricesException), never
    // another exception.
    ["scenario"] = bytes =>
    {
        try
        {
            _ = CniBench.Cli.Scenarios.ScenarioLoader.Load(System.Text.Encoding.UTF8.GetString(bytes), "fuzz.yaml");
        }
        catch (CniBench.Cli.Scenarios.ScenarioException) { }
    },
    ["prices"] = bytes =>
    {
        try
        {
            _ = CniBench.Cli.Transfer.PriceTable.Parse(System.Text.Encoding.UTF8.GetString(bytes), "fuzz.yaml");
        }
        catch (CniBench.Cli.Transfer.PricesException) { }
    },
};

if (args.Length != 1 || !targets.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: cnibench-fuzz TARGET; allowed: {string.Join(", ", targets.Keys)}");
    return 2;
}
Fuzzer.Run(stream =>
{
    using var copy = new MemoryStream();
    stream.CopyTo(copy);
    target(copy.ToArray());
});
return 0;
