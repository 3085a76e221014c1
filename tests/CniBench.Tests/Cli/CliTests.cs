using System.Text.Json;
using CniBench.Tests.Support;

namespace CniBench.Tests.Cli;

/// <summary>cnibench and cnibench-agent as a user runs them: real processes, exit codes, files, signals.</summary>
[Trait(Category.Name, Category.Integration)]
public class CliTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);

    private const string TinyScenario = """
        name: tiny
        repetitions: 2
        warmup: 100ms
        duration: 400ms
        cases:
          - workload: tcp-rr
          - workload: udp-stream
            bitrate: 100Mbit
        """;

    [Fact]
    public async Task Run_stores_reports_and_the_store_reads_back()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tiny.yaml"), TinyScenario);
        var (code, stdout, stderr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "run",
            "--file",
            "tiny.yaml",
            "--config",
            "baseline"
        );
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        Assert.True(File.Exists(dir.File("cnibench.db")));
        Assert.True(File.Exists(Path.Combine(dir.Path, "cnibench-report", "report.html")));
        Assert.Contains("[4/4] udp-stream 2/2 ok", stdout);
        Assert.Contains("tcp-rr", stdout);

        var (listCode, list, _) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, "runs", "list");
        Assert.Equal(0, listCode);
        Assert.Contains("completed", list);

        var runId = list.Split('\n')
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, @"\d{8}-\d{6}-[0-9a-f]{4}"))
            .First(m => m.Success)
            .Value;
        var (showCode, json, _) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "runs",
            "show",
            runId,
            "-o",
            "json"
        );
        Assert.Equal(0, showCode);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(4, doc.RootElement.GetProperty("results").GetArrayLength());
        Assert.Equal("baseline", doc.RootElement.GetProperty("run").GetProperty("config").GetString());

        var (reportCode, reportOut, _) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "report",
            "--run",
            runId,
            "--out",
            "again"
        );
        Assert.Equal(0, reportCode);
        Assert.Contains("report: again/ (report.html, report.md, ", reportOut);
        Assert.Contains("| tcp-rr | baseline | 2/2 |", File.ReadAllText(Path.Combine(dir.Path, "again", "report.md")));
    }

    [Fact]
    public async Task Tls_cases_run_locally_and_show_in_the_report()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(
            dir.File("tls.yaml"),
            """
            name: tls
            repetitions: 1
            # The first handshake, with the server's certificate made and TLS code compiled, precedes the window.
            warmup: 1s
            duration: 500ms
            cooldown: none
            cases:
              - workload: tls-rr
              - workload: tls-crr
            """
        );
        var (code, stdout, stderr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "run",
            "--file",
            "tls.yaml"
        );
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("[2/2] tls-crr 1/1 ok", stdout, StringComparison.Ordinal);
        string report = Path.Combine(dir.Path, "cnibench-report");
        var markdown = File.ReadAllText(Path.Combine(report, "report.md"));
        Assert.Contains("| tls-rr | default | 1/1 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| tls-crr | default | 1/1 |", markdown, StringComparison.Ordinal);
        Assert.Contains("tls-crr", File.ReadAllText(Path.Combine(report, "report.html")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(
        new[] { "run", "--suite", "nope" },
        "unknown suite 'nope'; allowed: convergence, dataplane, egress, hairpin, quick, service-scale"
    )]
    [InlineData(new[] { "run", "--suite", "egress" }, "suite 'egress' runs on --target kube or lab, not local")]
    [InlineData(new[] { "run", "--target", "moon" }, "--target: 'moon' is not available; allowed: local, lab")]
    [InlineData(new[] { "run", "--duration", "-1s" }, "--duration: '-1s' is not valid; allowed: a duration 100ms..1h")]
    [InlineData(new[] { "run", "--repetitions", "0" }, "--repetitions: 0 is out of range; allowed: 1..100")]
    [InlineData(
        new[] { "run", "--file", "bad.yaml" },
        "bad.yaml:3:15: cases[0].parallel: '-4' is not valid; allowed: an integer 1..1024"
    )]
    [InlineData(new[] { "runs", "list", "--db", "corrupt.db" }, "corrupt.db: not a CniBench database")]
    [InlineData(new[] { "report", "--run", "missing" }, "no run 'missing' in the database")]
    public async Task Bad_input_gets_one_clear_line_and_exit_code_2_without_running_anything(
        string[] args,
        string message
    )
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("bad.yaml"), "name: bad\ncases:\n  - parallel: -4\n    workload: tcp-rr\n");
        File.WriteAllText(dir.File("corrupt.db"), new string('x', 4096));
        var (code, stdout, stderr) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, args);
        Assert.True(code == 2, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains(message, stderr);
        Assert.DoesNotContain("   at ", stderr); // no stack trace
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "cnibench-report")));
    }

    [Theory]
    [InlineData(ChildProcess.SIGINT)]
    [InlineData(ChildProcess.SIGTERM)]
    public async Task A_signal_mid_run_stores_what_was_measured_marks_the_run_interrupted_and_stops_every_agent(
        int signal
    )
    {
        Requires.SignalReachesChildren(signal);
        using var dir = new TempDirectory();
        File.WriteAllText(
            dir.File("long.yaml"),
            // No cool-down: the signal is the subject, not the host's TIME_WAIT sockets (other processes' count too).
            "name: long\ncooldown: none\nrepetitions: 5\nwarmup: 0s\nduration: 1s\ncases:\n  - workload: tcp-rr\n"
        );
        await using var cli = ChildProcess.Start("cnibench", dir.Path, "run", "--file", "long.yaml");
        // Wait for the first finished repetition, then interrupt the second.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!cli.Stdout.Contains("[1/5]") && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.Contains("[1/5]", cli.Stdout);
        var agents = AgentProcesses.ChildrenOf(cli.Pid);
        Assert.Equal(2, agents.Count);
        await Task.Delay(300);
        cli.Signal(signal);
        int code = await cli.WaitAsync(Limit);

        Assert.True(code == 130, $"exit {code}\n{cli.Stdout}\n{cli.Stderr}");
        Assert.Contains("interrupted", cli.Stdout);
        Assert.True(
            await Eventually.HoldsAsync(() => !agents.Any(AgentProcesses.IsAlive), TimeSpan.FromSeconds(5)),
            $"agents left running: {string.Join(", ", agents.Where(AgentProcesses.IsAlive))}"
        );

        var (_, list, _) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, "runs", "list");
        Assert.Contains("interrupted", list);
        Assert.Matches(@"interrupted\s*│\s*2\s", list); // the finished repetition and the interrupted one
    }

    [Fact]
    public async Task Agents_exit_by_themselves_when_their_controller_is_killed()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(
            dir.File("long.yaml"),
            "name: long\nrepetitions: 1\nwarmup: 0s\nduration: 30s\ncases:\n  - workload: tcp-stream\n"
        );
        await using var cli = ChildProcess.Start("cnibench", dir.Path, "run", "--file", "long.yaml");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        IReadOnlyList<int> agents = [];
        while (agents.Count < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            agents = AgentProcesses.ChildrenOf(cli.Pid);
        }
        Assert.Equal(2, agents.Count);
        cli.Signal(ChildProcess.SIGKILL); // no cleanup code runs in the controller
        await cli.WaitAsync(Limit);
        await Eventually.HoldsAsync(() => !agents.Any(AgentProcesses.IsAlive), TimeSpan.FromSeconds(5));
        Assert.All(agents, pid => Assert.False(AgentProcesses.IsAlive(pid), $"agent {pid} outlived its controller"));
    }

    [Fact]
    public async Task Agent_run_prints_a_result_and_json_and_refuses_bad_flags()
    {
        using var dir = new TempDirectory();
        await using var server = ChildProcess.Start(
            "cnibench-agent",
            dir.Path,
            "serve",
            "--control-port",
            "0",
            "--tcp-port",
            "0",
            "--udp-port",
            "0",
            "--http-port",
            "0",
            "--token",
            "0123456789abcdef"
        );
        await server.FirstStdoutLine.WaitAsync(TimeSpan.FromSeconds(20));
        using var info = JsonDocument.Parse(server.Stdout);
        int tcp = info.RootElement.GetProperty("ports").GetProperty("tcp").GetInt32();

        var (code, stdout, stderr) = await ChildProcess.RunAsync(
            "cnibench-agent",
            dir.Path,
            Limit,
            "run",
            "--workload",
            "tcp-rr",
            "--to",
            $"127.0.0.1:{tcp}",
            "--duration",
            "500ms",
            "--parallel",
            "2"
        );
        Assert.True(code == 0, stderr);
        // Rates with thousands separators, as people read them.
        Assert.Matches(
            @"tcp-rr to 127\.0\.0\.1:\d+, 2 parallel, [\d.]+s: \d{1,3}(,\d{3})+ tx/s "
                + @"latency p50 [\d.]+ µs, p99 [\d.]+ µs no errors",
            stdout.Trim()
        );

        // The HTTP port given to a TCP workload: not "no errors" and 0 transactions, but what happened.
        int http = info.RootElement.GetProperty("ports").GetProperty("http").GetInt32();
        (code, stdout, _) = await ChildProcess.RunAsync(
            "cnibench-agent",
            dir.Path,
            Limit,
            "run",
            "-w",
            "tcp-rr",
            "--to",
            $"127.0.0.1:{http}",
            "-d",
            "500ms"
        );
        Assert.Equal(1, code);
        Assert.Contains(
            $"nothing got through: the server at 127.0.0.1:{http} accepted the connection but sent nothing within 1 "
                + $"s: is it a cnibench agent's TCP data port (7201 by default)? The HTTP port (7280) answers only -w "
                + $"http",
            stdout
        );
        Assert.DoesNotContain("no errors", stdout);

        (code, stdout, _) = await ChildProcess.RunAsync(
            "cnibench-agent",
            dir.Path,
            Limit,
            "run",
            "-w",
            "tcp-stream",
            "--to",
            $"127.0.0.1:{tcp}",
            "-d",
            "300ms",
            "--json"
        );
        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(stdout);
        Assert.True(json.RootElement.GetProperty("result").GetProperty("bytes").GetInt64() > 0);
        Assert.Equal("tcp-stream", json.RootElement.GetProperty("workload").GetProperty("kind").GetString());

        (code, _, stderr) = await ChildProcess.RunAsync(
            "cnibench-agent",
            dir.Path,
            Limit,
            "run",
            "-w",
            "tcp-rx",
            "--to",
            "127.0.0.1:1",
            "-d",
            "-1s",
            "-P",
            "0"
        );
        Assert.Equal(2, code);
        Assert.Contains("--workload: unknown workload 'tcp-rx'", stderr);
        Assert.Contains("--duration: '-1s' is not valid", stderr);

        (code, _, stderr) = await ChildProcess.RunAsync(
            "cnibench-agent",
            dir.Path,
            Limit,
            "run",
            "-w",
            "tcp-rr",
            "--to",
            "127.0.0.1:1",
            "-P",
            "5000"
        );
        Assert.Equal(2, code);
        Assert.Contains("--parallel: 5000 is out of range; allowed: 1..1024", stderr);

        (code, _, stderr) = await ChildProcess.RunAsync(
            "cnibench-agent",
            dir.Path,
            Limit,
            "run",
            "-w",
            "tcp-rr",
            "--to",
            "127.0.0.1:1",
            "-d",
            "1s"
        );
        Assert.Equal(1, code);
        Assert.Contains("cannot connect to 127.0.0.1:1: connection refused", stderr);
    }

    [Fact]
    public async Task Agent_serve_on_a_port_in_use_says_which_and_exits_2()
    {
        using var dir = new TempDirectory();
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var (code, stdout, stderr) = await ChildProcess.RunAsync(
            "cnibench-agent",
            dir.Path,
            Limit,
            "serve",
            "--control-port",
            "0",
            "--tcp-port",
            port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--udp-port",
            "0",
            "--http-port",
            "0",
            "--token",
            "0123456789abcdef"
        );
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains($"cannot listen on 127.0.0.1:{port}/tcp (--tcp-port): address already in use", stderr);
    }

    [Fact]
    public async Task A_short_flag_means_the_same_in_every_verb_and_help_shows_one_default()
    {
        using var dir = new TempDirectory();
        string[][] verbs =
        [
            ["run"],
            ["report"],
            ["compare"],
            ["runs", "list"],
            ["runs", "show"],
            ["runs", "delete"],
            ["runs", "prune"],
            ["validate"],
            ["suites"],
            ["doctor"],
            ["lab", "up"],
            ["kube", "check"],
        ];
        var meaning = new Dictionary<string, (string Long, string Verb)>();
        foreach (var verb in verbs)
        {
            var (code, help, stderr) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, [.. verb, "--help"]);
            Assert.True(code == 0, stderr);
            foreach (
                System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(
                    help,
                    @"^\s+(-[a-zA-Z]), (--[a-z-]+)",
                    System.Text.RegularExpressions.RegexOptions.Multiline
                )
            )
            {
                var (flag, name) = (m.Groups[1].Value, m.Groups[2].Value);
                if (flag == "-h")
                    continue;
                if (meaning.TryGetValue(flag, out var seen))
                    Assert.True(
                        seen.Long == name,
                        $"{flag} is {seen.Long} in '{seen.Verb}' but {name} in '{string.Join(' ', verb)}'"
                    );
                else
                    meaning[flag] = (name, string.Join(' ', verb));
            }
            var db = help.Split('\n').FirstOrDefault(l => l.TrimStart().StartsWith("--db", StringComparison.Ordinal));
            if (db is not null)
            {
                Assert.Single(System.Text.RegularExpressions.Regex.Matches(db, @"\[default: [^\]]*\]"));
                Assert.Contains("[default: cnibench.db]", db);
                Assert.DoesNotContain("(default:", db);
            }
        }
        Assert.Equal("--config", meaning["-c"].Long);
    }
}
