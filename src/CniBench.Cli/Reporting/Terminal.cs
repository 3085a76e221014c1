using Spectre.Console;

namespace CniBench.Cli.Reporting;

/// <summary>
/// The console every command writes to: colours, bold and in-place updates only on a terminal, and
/// no escape sequence at all when the output is a file or a pipe or when NO_COLOR is set (no-color.org).
/// </summary>
public static class Terminal
{
    public static IAnsiConsole Create(TextWriter output, bool isTerminal, bool noColor)
    {
        var console = AnsiConsole.Create(
            new AnsiConsoleSettings
            {
                Ansi = isTerminal && !noColor ? AnsiSupport.Detect : AnsiSupport.No,
                ColorSystem = isTerminal && !noColor ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
                Interactive = isTerminal ? InteractionSupport.Yes : InteractionSupport.No,
                Out = new AnsiConsoleOutput(output),
            }
        );
        // Written to a file or a CI log, tables must not be squeezed into 80 columns (ids would wrap).
        if (!isTerminal)
            console.Profile.Width = 240;
        return console;
    }

    /// <summary>This process's standard output, as the environment asks for it.</summary>
    public static IAnsiConsole ForStandardOutput() =>
        Create(
            Console.Out,
            !Console.IsOutputRedirected,
            Environment.GetEnvironmentVariable("NO_COLOR") is { Length: > 0 }
        );
}
