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
    private static readonly string[] Projects = ["CniBench.Cli", "CniBench.Agent", "CniBench.Contracts"];

    /// <summary>Every folder that has folders below it, at any depth: its own files and each subfolder are the
    /// parts that may not go round a circle.</summary>
    public static TheoryData<string, string> Levels()
    {
        var levels = new TheoryData<string, string>();
        foreach (var project in Projects)
        foreach (var level in FolderDependencies.Levels(SourceOf(project), project))
            levels.Add(project, level);
        return levels;
    }

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
    [MemberData(nameof(Levels))]
    public void No_two_folders_depend_on_each_other(string project, string level)
    {
        var uses = FolderDependencies.Of(AssemblyOf(project), level);
        FolderDependencies.AddNamedInSource(uses, SourceOf(project), project, level);
        var cycles = FolderDependencies.Cycles(uses);
        Assert.True(
            cycles.Count == 0,
            string.Join(
                "\n",
                cycles.Select(c =>
                    $"{level}: {string.Join(" ↔ ", c)}:\n"
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

    /// <summary>The compiled half of the check reads folders from namespaces: a file whose namespace is not its
    /// folder's would hide the edges it makes.</summary>
    [Theory]
    [MemberData(nameof(ProjectNames))]
    public void Every_file_declares_the_namespace_of_its_folder(string project)
    {
        var source = SourceOf(project);
        var declaration = new System.Text.RegularExpressions.Regex(
            @"^namespace ([\w.]+)",
            System.Text.RegularExpressions.RegexOptions.Multiline
        );
        var misplaced = Directory
            .EnumerateFiles(source, "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(source, f))
            .Where(f => f.Split('/')[0] is not ("bin" or "obj"))
            .Select(f => (File: f, Declared: declaration.Match(File.ReadAllText(Path.Combine(source, f)))))
            .Where(f => f.Declared.Success)
            .Select(f =>
                (
                    f.File,
                    Declared: f.Declared.Groups[1].Value,
                    Folder: string.Join('.', [project, .. (Path.GetDirectoryName(f.File) ?? "").Split('/')])
                        .TrimEnd('.')
                )
            )
            .Where(f => f.Declared != f.Folder)
            .Select(f => $"{f.File}: namespace {f.Declared}, folder {f.Folder}");
        Assert.Empty(misplaced);
    }

    public static TheoryData<string> ProjectNames => new(Projects);

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
        FolderDependencies.AddNamedInSource(uses, dir.Path, "P", "P");
        Assert.Equal(["Targets"], uses["Scenarios"].Keys);
    }

    [Fact]
    public void A_type_named_from_a_sibling_by_its_folder_alone_counts()
    {
        var uses = new Dictionary<string, Dictionary<string, string>>();
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("Commands"));
        Directory.CreateDirectory(dir.File("Targets/Kube"));
        File.WriteAllText(dir.File("Commands/KubeOptions.cs"), "namespace P.Commands; static class KubeOptions { }");
        File.WriteAllText(
            dir.File("Targets/Kube/Factory.cs"),
            "namespace P.Targets.Kube; static class F { string I = Commands.KubeOptions.DefaultImage; int N = "
                + "Results.Count; }"
        );
        File.WriteAllText(dir.File("Targets/Hooks.cs"), "namespace P.Targets; class T { object H = Kube.F.I; }");
        FolderDependencies.AddNamedInSource(uses, dir.Path, "P", "P");
        Assert.Equal(["Commands"], uses["Targets"].Keys); // Results.Count is a property, not a folder's type
        uses.Clear();
        FolderDependencies.AddNamedInSource(uses, dir.Path, "P", "P.Targets");
        Assert.Equal(["Kube"], uses["."].Keys); // a folder's own files are a part of their own
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
