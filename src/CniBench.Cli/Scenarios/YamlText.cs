using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace CniBench.Cli.Scenarios;

/// <summary>
/// Reads the YAML files a user hands in (scenarios, prices) into a document, or into located errors: whatever the
/// parser throws, a bounded size and a bounded count of aliases (each alias can repeat a list into another field, and
/// a scenario's lists multiply).
/// </summary>
public static class YamlText
{
    public const int MaxBytes = 1024 * 1024;
    public const int MaxAliases = 64;

    /// <summary>The first document, or null with the reasons added to <paramref name="errors"/>.</summary>
    public static YamlDocument? Read(string text, string source, List<ScenarioError> errors)
    {
        if (text.Length > MaxBytes)
        {
            errors.Add(new(source, 1, 1, "yaml", $"{Count(text.Length)} characters", $"at most {Count(MaxBytes)}"));
            return null;
        }
        var parser = new Parser(new StringReader(text));
        var stream = new YamlStream();
        try
        {
            if (Aliases(text) is { Count: > MaxAliases } aliases)
            {
                errors.Add(
                    new(
                        source,
                        (int)aliases.Last.Line,
                        (int)aliases.Last.Column,
                        "yaml",
                        $"{aliases.Count} or more aliases (*name)",
                        $"at most {MaxAliases}"
                    )
                );
                return null;
            }
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            errors.Add(
                new(source, (int)e.Start.Line, (int)e.Start.Column, "yaml", e.InnerException?.Message ?? e.Message)
            );
            return null;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            // The representation model refuses some event orders with exceptions of its own (an alias right after a
            // flow sequence): located at the event it stopped on.
            var at = parser.Current?.Start;
            errors.Add(
                new(
                    source,
                    (int)(at?.Line ?? 1),
                    (int)(at?.Column ?? 1),
                    "yaml",
                    $"cannot be read at or just before this point: {e.Message.Split(" (Parameter")[0]}"
                )
            );
            return null;
        }
        return stream.Documents.FirstOrDefault();
    }

    public static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>The aliases of a document, by a pass over its events alone (nothing is built); stops past the
    /// bound.</summary>
    private static (int Count, Mark Last)? Aliases(string text)
    {
        var parser = new Parser(new StringReader(text));
        int count = 0;
        Mark last = Mark.Empty;
        while (count <= MaxAliases && parser.MoveNext())
            if (parser.Current is AnchorAlias alias)
                (count, last) = (count + 1, alias.Start);
        return count == 0 ? null : (count, last);
    }
}
