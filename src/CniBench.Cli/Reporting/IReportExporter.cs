namespace CniBench.Cli.Reporting;

/// <summary>One output format. Exporters are a list: the report writer runs whichever are asked for.</summary>
public interface IReportExporter
{
    string Format { get; }

    /// <summary>Writes the format's files into the directory and returns their paths.</summary>
    IReadOnlyList<string> Write(ReportModel model, string directory);
}

public static class ReportWriter
{
    public static IReadOnlyList<IReportExporter> All { get; } =
    [new HtmlExporter(), new MarkdownExporter(), new CsvExporter(), new JsonExporter()];

    public static IReadOnlyList<string> DefaultFormats { get; } = ["html", "md"];

    /// <summary>Lists what the last report wrote into its directory, so the next one removes exactly that and nothing
    /// of the user's.</summary>
    public const string ManifestName = ".cnibench-report";

    public static IReadOnlyList<string> WriteAll(
        ReportModel model,
        string directory,
        IEnumerable<string>? formats = null
    )
    {
        var wanted = (formats ?? DefaultFormats).ToHashSet(StringComparer.OrdinalIgnoreCase);
        Directory.CreateDirectory(directory);
        RemovePrevious(directory);
        var written = All.Where(e => wanted.Contains(e.Format))
            .SelectMany(e => e.Write(model, directory))
            .Distinct()
            .ToArray();
        File.WriteAllLines(
            Path.Combine(directory, ManifestName),
            written.Select(p => Path.GetRelativePath(directory, p))
        );
        return written;
    }

    /// <summary>What to tell the user: the directory and the main files, the charts counted rather than
    /// listed.</summary>
    public static string Describe(IReadOnlyList<string> written, string directory)
    {
        var main = written
            .Where(p => Path.GetDirectoryName(Path.GetRelativePath(directory, p)) is "" or null)
            .Select(Path.GetFileName)
            .ToArray();
        int charts = written.Count - main.Length;
        return $"{directory.TrimEnd('/')}/ "
            + $"({string.Join(", ", main)}{(charts > 0 ? $", {charts} charts in charts/" : "")})";
    }

    private static void RemovePrevious(string directory)
    {
        var manifest = Path.Combine(directory, ManifestName);
        if (!File.Exists(manifest))
            return;
        foreach (var relative in File.ReadAllLines(manifest))
        {
            var path = Path.GetFullPath(Path.Combine(directory, relative));
            // Only files below the report directory: a hand-edited manifest must not reach elsewhere.
            if (
                relative.Length == 0
                || !path.StartsWith(Path.GetFullPath(directory) + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            )
                continue;
            File.Delete(path);
        }
        var charts = Path.Combine(directory, "charts");
        if (Directory.Exists(charts) && !Directory.EnumerateFileSystemEntries(charts).Any())
            Directory.Delete(charts);
        File.Delete(manifest);
    }

    /// <summary>UTF-8 without a byte-order mark, the same bytes in every culture.</summary>
    public static string WriteText(string directory, string name, Action<TextWriter> write)
    {
        var path = Path.Combine(directory, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var writer = new StreamWriter(path, false, new System.Text.UTF8Encoding(false)) { NewLine = "\n" };
        write(writer);
        return path;
    }

    /// <summary>Every chart as its own .svg file (for papers and wikis), under charts/.</summary>
    public static IEnumerable<string> WriteCharts(ReportModel model, string directory) =>
        model
            .AllCharts.Select(c => WriteText(directory, Path.Combine("charts", c.Id + ".svg"), w => w.Write(c.Svg)))
            .ToArray();
}
