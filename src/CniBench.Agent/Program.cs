using System.CommandLine;
using CniBench.Agent.Commands;

var root = new RootCommand("cnibench-agent: the CniBench traffic agent. 'serve' answers every workload; 'run' drives one against a server.")
{
    ServeCommand.Create(),
    RunCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
