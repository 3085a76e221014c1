using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace CniBench.Cli.Scenarios;

/// <summary>
/// Reads the YAML files a user hands in (scenarios, prices) into a document, or into located errors: whatever the
/// parser throws, a bounded size and a bounded count of aliases (each alias can repeat a list into another field, and
/// a scenario's lists multiply), and aliases that name a node not yet complete. YAML allows an alias only to a node
/// already read; the representation model also takes a later one, and an alias key naming its own value
/// (`*a : &amp;a x`) sends it into unbounded recursion — a stack overflow no catch can stop.
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
            if (RefusedAlias(text, source) is { } refused)
            {
                errors.Add(refused);
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

    /// <summary>The first alias that cannot be taken, by a pass over the document's events alone (nothing is
    /// built): one past the bound, one naming an anchor not yet seen, or one inside the node it names.</summary>
    private static ScenarioError? RefusedAlias(string text, string source)
    {
        var parser = new Parser(new StringReader(text));
        var complete = new HashSet<string>(StringComparer.Ordinal);
        var open = new Stack<string?>(); // the anchors of the collections being read, innermost on top
        int count = 0;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case AnchorAlias alias:
                    count++;
                    ScenarioError Refuse(string problem, string allowed) =>
                        new(source, (int)alias.Start.Line, (int)alias.Start.Column, "yaml", problem, allowed);
                    if (count > MaxAliases)
                        return Refuse($"{count} or more aliases (*name)", $"at most {MaxAliases}");
                    if (open.Contains(alias.Value.Value))
                        return Refuse(
                            $"*{alias.Value.Value} is inside the node &{alias.Value.Value} it names",
                            "an alias to a node that is complete"
                        );
                    if (!complete.Contains(alias.Value.Value))
                        return Refuse(
                            $"*{alias.Value.Value} comes before its anchor &{alias.Value.Value}",
                            "an alias after the node it names"
                        );
                    break;
                case Scalar scalar when !scalar.Anchor.IsEmpty:
                    complete.Add(scalar.Anchor.Value);
                    break;
                case NodeEvent { Anchor: var anchor } and (MappingStart or SequenceStart):
                    open.Push(anchor.IsEmpty ? null : anchor.Value);
                    break;
                case MappingEnd or SequenceEnd when open.TryPop(out var closed) && closed is not null:
                    complete.Add(closed);
                    break;
            }
        }
        return null;
    }
}
