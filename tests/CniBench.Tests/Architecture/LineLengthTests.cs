using CniBench.Tests.Support;

namespace CniBench.Tests.Architecture;

/// <summary>
/// Lines of C# stay within 120 characters: .editorconfig's max_line_length, which `dotnet csharpier format` keeps
/// for code (comments and strings are wrapped by hand).
/// </summary>
[Trait(Category.Name, Category.Unit)]
public class LineLengthTests
{
    private const int Limit = 120;

    [Fact]
    public void No_line_of_csharp_is_longer_than_the_limit()
    {
        string root = Scenarios.ScenarioLoaderTests.RepositoryRoot();
        var files = new[] { "src", "tests", "bench" }
            .Select(d => Path.Combine(root, d))
            .Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains("/bin/", StringComparison.Ordinal))
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal))
            .ToArray();
        Assert.True(files.Length > 100, $"only {files.Length} C# files found under {root}");
        var over = files
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: f, Line: i + 1, line.Length)))
            .Where(l => l.Length > Limit)
            .Select(l => $"{Path.GetRelativePath(root, l.File)}:{l.Line}: {l.Length} characters")
            .ToArray();
        Assert.True(
            over.Length == 0,
            $"lines over {Limit} characters (dotnet csharpier format . wraps code):\n{string.Join("\n", over)}"
        );
    }
}
