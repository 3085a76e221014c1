using CniBench.Scale;

// Controller-side scale figures.
//
//   dotnet run -c Release --project bench/scale/CniBench.Scale -- merge [--agents 500,5500] [--rounds 5]
//   dotnet run -c Release --project bench/scale/CniBench.Scale -- agents [--agents 500] [--window 5] [--started 100]
//
// 'merge': reading and merging many agents' latency histograms. 'agents': driving many agents through a case.
return args.FirstOrDefault() switch
{
    "merge" => HistogramMerge.Run(args[1..]),
    "agents" => await AgentScale.RunAsync(args[1..]),
    "farm" => await AgentFarm.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: cnibench-scale merge|agents [options] (see Program.cs)");
    return 2;
}
