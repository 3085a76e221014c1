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
    public static IReadOnlyList<IReportExporter> All { get; } = [new HtmlExporter(), new MarkdownExporter(), new CsvExporter(), new JsonExporter()];

    public static IReadOnlyList<string> DefaultFormats { get; } = ["html", "md"];

    public static IReadOnlyList<string> WriteAll(ReportModel model, string directory, IEnumerable<string>? formats = null)
    {
        var wanted = (formats ?? DefaultFormats).ToHashSet(StringComparer.OrdinalIgnoreCase);
        Directory.CreateDirectory(directory);
        return All.Where(e => wanted.Contains(e.Format)).SelectMany(e => e.Write(model, directory)).Distinct().ToArray();
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
        model.AllCharts.Select(c => WriteText(directory, Path.Combine("charts", c.Id + ".svg"), w => w.Write(c.Svg))).ToArray();
}
