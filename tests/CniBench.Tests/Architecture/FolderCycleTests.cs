using System.Reflection;
using CniBench.Tests.Support;

namespace CniBench.Tests.Architecture;

/// <summary>
/// Data flows one way between the folders of each project (Scenarios → Running → Results → Storage → Analysis →
/// Reporting, targets behind their interface): a folder that uses another may not be used by it, directly or round
/// a circle, so a cycle cannot come back unnoticed.
/// </summary>
[Trait(Category.Name, Category.Unit)]
public class FolderCycleTests
{
    public static TheoryData<string> Projects => new() { "CniBench.Cli", "CniBench.Agent", "CniBench.Contracts" };

    private static Assembly AssemblyOf(string project) =>
        project switch
        {
            "CniBench.Cli" => typeof(CniBench.Cli.Results.CaseResult).Assembly,
            "CniBench.Agent" => typeof(CniBench.Agent.Wire.TcpHello).Assembly,
            _ => typeof(CniBench.Contracts.Workloads.WorkloadSpec).Assembly,
        };

    private static string SourceOf(string project, [System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "..", "src", project));

    [Theory]
    [MemberData(nameof(Projects))]
    public void No_two_folders_depend_on_each_other(string project)
    {
        var uses = FolderDependencies.Of(AssemblyOf(project), project);
        FolderDependencies.AddNamedInSource(uses, SourceOf(project), project);
        var cycles = FolderDependencies.Cycles(uses);
        Assert.True(
            cycles.Count == 0,
            string.Join(
                "\n",
                cycles.Select(c =>
                    $"{string.Join(" ↔ ", c)}:\n"
                    + string.Join(
                        "\n",
                        c.SelectMany(from =>
                            uses[from].Where(u => c.Contains(u.Key)).Select(u => $"  {from} → {u.Key}, e.g. {u.Value}")
                        )
                    )
                )
            )
        );
    }

    [Fact]
    public void A_constant_named_by_namespace_counts_though_the_compiler_copied_it()
    {
        var uses = new Dictionary<string, Dictionary<string, string>>();
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("Scenarios"));
        Directory.CreateDirectory(dir.File("Targets"));
        File.WriteAllText(
            dir.File("Scenarios/Fields.cs"),
            "namespace P.Scenarios; static class F { const int M = P.Targets.Spec.Max; }"
        );
        FolderDependencies.AddNamedInSource(uses, dir.Path, "P");
        Assert.Equal(["Targets"], uses["Scenarios"].Keys);
    }

    [Fact]
    public void A_circle_closed_only_inside_a_method_body_is_found()
    {
        var root = typeof(CycleSample.Up.Caller).Namespace![..^".Up".Length];
        var uses = FolderDependencies.Of(typeof(CycleSample.Up.Caller).Assembly, root);
        Assert.Equal(["Down", "Up"], Assert.Single(FolderDependencies.Cycles(uses)));
        Assert.Contains("Caller", uses["Up"]["Down"]);
    }
}
