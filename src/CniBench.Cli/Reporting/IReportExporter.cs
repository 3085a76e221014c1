namespace CniBench.Cli.Reporting;

/// <summary>One output format. Exporters are a list: the report writer runs whichever are asked for.</summary>
public interface IReportExporter
{
    string Format { get; }
    string FileName { get; }
    void Write(ReportModel model, TextWriter writer);
}

public static class ReportWriter
{
    public static IReadOnlyList<IReportExporter> All { get; } = [new MarkdownExporter(), new HtmlExporter()];

    public static IReadOnlyList<string> WriteAll(ReportModel model, string directory, IEnumerable<IReportExporter>? exporters = null)
    {
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        foreach (var exporter in exporters ?? All)
        {
            var path = Path.Combine(directory, exporter.FileName);
            using (var writer = new StreamWriter(path, false, new System.Text.UTF8Encoding(false)))
                exporter.Write(model, writer);
            written.Add(path);
        }
        return written;
    }
}
