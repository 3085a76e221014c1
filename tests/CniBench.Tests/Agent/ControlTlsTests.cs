using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using CniBench.Cli.Agents;
using CniBench.Contracts.Cli;
using CniBench.Contracts.Protocol;
using CniBench.Tests.Support;

namespace CniBench.Tests.Agent;

/// <summary>The control API over TLS: a real agent process with a self-signed certificate, reached by a pinning
/// controller.</summary>
[Trait(Category.Name, Category.Integration)]
public class ControlTlsTests
{
    private const string Token = "tls-test-0123456789abcdef";

    private static (string Cert, string Key, string Sha256) WriteSelfSigned(TempDirectory dir, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(
            DateTimeOffset.UtcNow.AddMinutes(-1),
            DateTimeOffset.UtcNow.AddDays(1)
        );
        File.WriteAllText(dir.File(name + ".crt"), certificate.ExportCertificatePem());
        File.WriteAllText(dir.File(name + ".key"), key.ExportPkcs8PrivateKeyPem());
        return (
            dir.File(name + ".crt"),
            dir.File(name + ".key"),
            Convert.ToHexString(SHA256.HashData(certificate.RawData)).ToLowerInvariant()
        );
    }

    private static async Task<(ChildProcess Agent, AgentInfo Info)> StartAsync(
        TempDirectory dir,
        string cert,
        string key
    )
    {
        var agent = ChildProcess.Start(
            "cnibench-agent",
            dir.Path,
            new Dictionary<string, string?> { ["CNIBENCH_TOKEN"] = Token },
            "serve",
            "--control-port",
            "0",
            "--tcp-port",
            "0",
            "--udp-port",
            "0",
            "--http-port",
            "0",
            "--tls-cert",
            cert,
            "--tls-key",
            key
        );
        await agent.FirstStdoutLine.WaitAsync(TimeSpan.FromSeconds(20));
        return (agent, JsonSerializer.Deserialize(agent.Stdout.Split('\n')[0], ContractsJson.Default.AgentInfo)!);
    }

    [Fact]
    public async Task The_control_api_speaks_tls_and_a_controller_reaches_it_only_with_the_pinned_certificate()
    {
        using var dir = new TempDirectory();
        var (cert, key, sha256) = WriteSelfSigned(dir, "agent");
        var (_, _, otherSha256) = WriteSelfSigned(dir, "impostor");
        var (agent, info) = await StartAsync(dir, cert, key);
        await using var _ = agent;
        Assert.Equal(sha256, info.ControlTlsSha256);
        // The log line follows the stdout line that announced the ports.
        for (
            var waited = System.Diagnostics.Stopwatch.StartNew();
            !agent.Stderr.Contains(sha256) && waited.Elapsed < TimeSpan.FromSeconds(10);

        )
            await Task.Delay(50);
        Assert.Contains($"certificate SHA-256 {sha256}", agent.Stderr);
        var url = new Uri($"https://127.0.0.1:{info.Ports.Control}/");

        using (var pinned = AgentClient.Pinned(url, Token, CertificatePin.Parse(sha256)))
            Assert.Equal(info.Pid, (await pinned.InfoAsync(default)).Pid);

        // Another certificate's pin: the handshake is refused before the token is sent.
        using (var wrong = AgentClient.Pinned(url, Token, CertificatePin.Parse(otherSha256)))
            await Assert.ThrowsAsync<HttpRequestException>(() => wrong.InfoAsync(default));

        // Plain HTTP to the TLS port gets nothing usable, and the agent serves the next client.
        using (var plain = new AgentClient(new Uri($"http://127.0.0.1:{info.Ports.Control}/"), Token))
            await Assert.ThrowsAnyAsync<Exception>(() => plain.InfoAsync(default));
        using (var garbage = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await garbage.ConnectAsync(IPAddress.Loopback, info.Ports.Control);
            await garbage.SendAsync(new byte[] { 0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00, 0x00 });
        }
        using var again = AgentClient.Pinned(
            url,
            Token,
            CertificatePin.Parse(
                sha256.ToUpperInvariant().Chunk(2).Select(p => new string(p)).Aggregate((a, b) => a + ":" + b)
            )
        );
        Assert.Equal(info.Pid, (await again.InfoAsync(default)).Pid);
        Assert.False(agent.HasExited);
    }

    [Fact]
    public async Task A_certificate_without_its_key_or_a_file_that_is_no_pem_is_refused_in_one_line()
    {
        using var dir = new TempDirectory();
        var (cert, _, _) = WriteSelfSigned(dir, "agent");
        File.WriteAllText(dir.File("junk.key"), "not a key\n");
        var (code, _, stderr) = await ChildProcess.RunAsync(
            "cnibench-agent",
            dir.Path,
            TimeSpan.FromSeconds(20),
            "serve",
            "--control-port",
            "0",
            "--tls-cert",
            cert
        );
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--tls-cert and --tls-key: give both", stderr);
        (code, _, stderr) = await ChildProcess.RunAsync(
            "cnibench-agent",
            dir.Path,
            TimeSpan.FromSeconds(20),
            "serve",
            "--control-port",
            "0",
            "--tls-cert",
            cert,
            "--tls-key",
            dir.File("junk.key")
        );
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("not a usable PEM certificate and key", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Theory]
    [InlineData("--external-agent-sha256 abc", "is not a SHA-256")]
    [InlineData(
        "--external-agent http://127.0.0.1:7200 --external-agent-sha256 "
            + "0000000000000000000000000000000000000000000000000000000000000000",
        "only with an https://"
    )]
    public async Task A_bad_pin_is_a_clear_error(string flags, string expected)
    {
        using var dir = new TempDirectory();
        var (code, stdout, stderr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            TimeSpan.FromSeconds(30),
            ["run", "--target", "kube", "--kubeconfig", dir.File("none"), .. flags.Split(' ')]
        );
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains(expected, stdout + stderr);
    }
}
