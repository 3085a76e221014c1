using System.Text.RegularExpressions;

namespace CniBench.Cli.Commands;

/// <summary>
/// Secrets a user may have put on the command line (a token, a database password): never written to a log, and
/// named once on stderr, since every local user can read a process's arguments (ps, /proc/PID/cmdline).
/// </summary>
public static partial class SecretArguments
{
    /// <summary>Flags whose value is a secret.</summary>
    private static readonly string[] SecretFlags = ["--token", "--external-token"];

    /// <summary>The arguments as one line with every secret replaced by ***.</summary>
    public static string Redact(IReadOnlyList<string> args)
    {
        var shown = new List<string>(args.Count);
        for (int i = 0; i < args.Count; i++)
        {
            var flag = SecretFlags.FirstOrDefault(f =>
                args[i] == f || args[i].StartsWith(f + "=", StringComparison.Ordinal)
            );
            if (flag is null)
                shown.Add(RedactText(args[i]));
            else if (args[i] == flag)
            {
                shown.Add(flag);
                if (++i < args.Count)
                    shown.Add("***");
            }
            else
                shown.Add(flag + "=***");
        }
        return string.Join(' ', shown);
    }

    /// <summary>Text with passwords of connection strings and URLs, and bearer tokens, replaced by ***.</summary>
    public static string RedactText(string text) =>
        Bearer().Replace(UrlPassword().Replace(KeyPassword().Replace(text, "$1=***"), "$1:***@"), "$1 ***");

    /// <summary>What a user should hear about the secrets on this command line; empty when there are none.</summary>
    public static IEnumerable<string> Warnings(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "--external-token" || args[i].StartsWith("--external-token=", StringComparison.Ordinal))
                yield return "--external-token is visible to every local user in the process list; prefer "
                    + "--external-token-file FILE or $CNIBENCH_TOKEN";
            string? db =
                args[i] == "--db" && i + 1 < args.Count ? args[i + 1]
                : args[i].StartsWith("--db=", StringComparison.Ordinal) ? args[i]["--db=".Length..]
                : null;
            if (db is not null && RedactText(db) != db)
                yield return "--db carries a password, visible to every local user in the process list; prefer "
                    + $"${CommonOptions.DatabaseVariable}, or PostgreSQL's own PGPASSWORD or ~/.pgpass";
        }
    }

    [GeneratedRegex(@"(?i)\b(password|pwd)\s*=\s*[^;\s]*")]
    private static partial Regex KeyPassword();

    [GeneratedRegex(@"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+):[^@\s]*@", RegexOptions.IgnoreCase)]
    private static partial Regex UrlPassword();

    [GeneratedRegex(@"(?i)\b(bearer)\s+\S+")]
    private static partial Regex Bearer();
}
