using System.Diagnostics;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Transfer;
using CniBench.Tests.Support;
using CsCheck;

namespace CniBench.Tests.Scenarios;

/// <summary>Files a user hands the CLI, written to hurt it: every one ends in a located error, fast.</summary>
[Trait(Category.Name, Category.Unit)]
public class HostileScenarioTests
{
    private static ScenarioException Fails(string yaml) =>
        Assert.Throws<ScenarioException>(() => CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(yaml, "bomb.yaml"));

    [Fact]
    public void A_matrix_bomb_is_refused_with_the_product_of_its_axes_before_anything_is_built()
    {
        // Under 400 bytes, with two aliases: 30 × 30 × 30 × 2 × 3 × 4 × 2 = 1,296,000 cases.
        const string Bomb = """
            name: bomb
            cases:
              - workload: tcp-rr
                parallel: &a [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30]
                requestSize: *a
                responseSize: *a
                ipFamily: [ipv4, ipv6]
                placement: [host-to-host, pod-to-pod-same-node, pod-to-pod-cross-node]
                proxy: [iptables, nftables, ebpf, none]
                routing: [native, vxlan]
            """;
        var clock = Stopwatch.StartNew();
        var error = Assert.Single(Fails(Bomb).Errors);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
        Assert.Equal(3, error.Line);
        Assert.Contains("expands to 1,296,000 cases (parallel 30 × requestSize 30 × responseSize 30", error.Problem);
        Assert.Contains($"at most {ScenarioLoader.MaxCases:N0} cases in a scenario", error.Allowed);
    }

    [Fact]
    public void Cases_are_counted_over_the_whole_scenario()
    {
        string many = "[" + string.Join(", ", Enumerable.Range(1, 30)) + "]";
        string yaml =
            $"name: s\ncases:\n  - workload: tcp-rr\n    parallel: {many}\n    requestSize: {many}\n"
            + $"  - workload: udp-rr\n    parallel: {many}\n    requestSize: {many}\n";
        var error = Assert.Single(Fails(yaml).Errors);
        Assert.Equal("cases[1]", error.Field);
        Assert.Contains("expands to 900 cases (parallel 30 × requestSize 30), with 900 before it", error.Problem);
    }

    [Fact]
    public void Aliases_are_bounded()
    {
        string yaml =
            "name: s\nx: &p 4\ncases:\n"
            + string.Concat(
                Enumerable
                    .Range(0, YamlText.MaxAliases + 1)
                    .Select(i => $"  - {{workload: tcp-rr, parallel: *p, name: c{i}}}\n")
            );
        var error = Assert.Single(Fails(yaml).Errors);
        Assert.Equal("yaml", error.Field);
        Assert.Contains("aliases", error.Problem);
    }

    /// <summary>YAML lets an alias name only a node already read. The representation model also resolves later
    /// ones, and an alias key naming its own value overflowed the stack (the process died, uncatchably).</summary>
    [Theory]
    [InlineData("name: s\ncases:\n  - workload: tcp-rr\n*a : &a x\n", 4, "*a comes before its anchor &a")]
    [InlineData("name: s\ncases: *c\nother: &c [1]\n", 2, "*c comes before its anchor &c")]
    [InlineData("name: s\ncases: &c\n  - workload: tcp-rr\n    parallel: *c\n", 4, "*c is inside the node &c")]
    [InlineData("&m {name: s, *m : 1}\n", 1, "*m is inside the node &m")]
    public void An_alias_to_a_node_not_yet_complete_is_a_located_error(string yaml, int line, string problem)
    {
        var error = Assert.Single(Fails(yaml).Errors);
        Assert.Equal(("yaml", line), (error.Field, error.Line));
        Assert.StartsWith(problem, error.Problem);
    }

    [Theory]
    [InlineData("name: x\ncases:\n  - workload: tcp-rr\n    parallel: [1, 4] *a\n")]
    [InlineData("name: x\ncases:\n  - workload: tcp-rr\n    responseSize: [1, 16KiB\n")]
    [InlineData("name: x\ncases: *nowhere\n")]
    [InlineData("name: x\ncases:\n  - workload: tcp-rr\n\t  parallel: 1\n")]
    public void Parser_failures_of_every_kind_are_located_errors(string yaml)
    {
        var error = Assert.Single(Fails(yaml).Errors);
        Assert.Equal("bomb.yaml", error.File);
        Assert.InRange(error.Line, 1, 6);
    }

    /// <summary>Valid files, cut, spliced and sprinkled with YAML's own characters: each loads or fails with a
    /// located error; nothing else escapes.</summary>
    [Fact]
    public void Mutated_scenario_and_price_files_load_or_fail_with_located_errors_only()
    {
        string[] seeds =
        [
            "name: s\nrepetitions: 2\ncases:\n  - workload: tcp-rr\n    parallel: &p [1, 4]\n    requestSize: *p\n",
            "name: s\ncases:\n  - {workload: http, model: open, rate: 100, responseSize: [1, 16KiB]}\n",
            "currency: EUR\ncrossZonePerGb: 0.01\ninternetPerGb: 0.09\n",
        ];
        var noise = Gen.OneOf(
            Gen.Const("*a"),
            Gen.Const("&a "),
            Gen.Const("["),
            Gen.Const("]"),
            Gen.Const("{"),
            Gen.Const(": "),
            Gen.Const("\n  - "),
            Gen.Const("!!binary "),
            Gen.Const("<<: "),
            Gen.Const("%YAML 1.1\n---\n"),
            Gen.Const("\t"),
            Gen.Const("\"\\u0000"),
            Gen.Char[(char)32, (char)126].Select(c => c.ToString())
        );
        Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Int[0, 200], Gen.Int[0, 200], noise.Array[1, 4])
            .Sample(
                (seed, cut, at, inserted) =>
                {
                    var text = seeds[seed];
                    text = text[..Math.Min(text.Length, Math.Max(cut, 20))];
                    int i = Math.Min(at, text.Length);
                    text = text[..i] + string.Concat(inserted) + text[i..];
                    try
                    {
                        _ = CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(text, "m.yaml");
                    }
                    catch (ScenarioException e)
                    {
                        Assert.All(e.Errors, x => Assert.True(x.Line >= 1 && x.Column >= 1 && x.File == "m.yaml"));
                    }
                    try
                    {
                        _ = PriceTable.Parse(text, "m.yaml");
                    }
                    catch (PricesException e)
                    {
                        Assert.NotEmpty(e.Errors);
                    }
                },
                iter: 5_000
            );
    }
}
