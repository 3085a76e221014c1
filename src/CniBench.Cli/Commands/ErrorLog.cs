using System.Globalization;

namespace CniBench.Cli.Commands;

/// <summary>Where an unexpected error's details go, so the terminal gets one line and a bug report gets the whole
/// trace.</summary>
public static class ErrorLog
{
    public const string DirectoryVariable = "CNIBENCH_LOG_DIR";

    /// <summary>$CNIBENCH_LOG_DIR, else $XDG_STATE_HOME/cnibench, else ~/.local/state/cnibench.</summary>
    public static string Directory()
    {
        if (Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } explicitDir)
            return explicitDir;
        var state = Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
        return Path.Combine(state, "cnibench");
    }

    /// <summary>The log's path, or null when it could not be written (the message on the terminal is then all there
    /// is).</summary>
    public static string? Write(Exception error)
    {
        try
        {
            var dir = Directory();
            System.IO.Directory.CreateDirectory(dir);
            var path = Path.Combine(
                dir,
                $"error-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}-"
                    + $"{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}.log"
            );
            // The owner's alone, and nothing secret in it: a trace may quote a connection string or a header.
            using var file = new FileStream(
                path,
                new FileStreamOptions
                {
                    Mode = FileMode.CreateNew,
                    Access = FileAccess.Write,
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                }
            );
            using var writer = new StreamWriter(file);
            writer.Write(
                $"cnibench {typeof(ErrorLog).Assembly.GetName().Version} "
                    + $"{SecretArguments.Redact(Environment.GetCommandLineArgs()[1..])}\n"
                    + $"{SecretArguments.RedactText(error.ToString())}\n"
            );
            return path;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
