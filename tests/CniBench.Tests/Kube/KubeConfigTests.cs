using CniBench.Cli.Targets.Kube.Api;
using CniBench.Tests.Support;

namespace CniBench.Tests.Kube;

[Trait(Category.Name, Category.Unit)]
public class KubeConfigTests
{
    private const string Main = """
        apiVersion: v1
        kind: Config
        current-context: kind
        clusters:
          - name: kind
            cluster:
              server: https://127.0.0.1:6443
              certificate-authority: certs/ca.pem
        contexts:
          - name: kind
            context: { cluster: kind, user: admin, namespace: bench }
          - name: eks
            context: { cluster: eks, user: aws }
        users:
          - name: admin
            user:
              client-certificate-data: Y2VydA==
              client-key-data: a2V5
        """;

    private const string Second = """
        apiVersion: v1
        kind: Config
        current-context: eks
        clusters:
          - name: kind
            cluster: { server: https://shadowed.example:6443 }
          - name: eks
            cluster: { server: https://eks.example:443, insecure-skip-tls-verify: true }
        users:
          - name: aws
            user:
              exec:
                apiVersion: client.authentication.k8s.io/v1beta1
                command: ./bin/login-helper
                args: [token, --cluster, eks]
                env: [{ name: AWS_PROFILE, value: bench }]
        """;

    private static (TempDirectory Dir, Dictionary<string, string?> Env) Files()
    {
        var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("certs"));
        Directory.CreateDirectory(dir.File("other"));
        File.WriteAllText(dir.File("certs/ca.pem"), "CA PEM");
        File.WriteAllText(dir.File("main.yaml"), Main);
        File.WriteAllText(dir.File("other/second.yaml"), Second);
        return (
            dir,
            new()
            {
                ["KUBECONFIG"] = $"{dir.File("main.yaml")}:{dir.File("missing.yaml")}:{dir.File("other/second.yaml")}",
            }
        );
    }

    [Fact]
    public void Kubeconfig_files_merge_as_kubectl_merges_them_first_file_winning()
    {
        var (dir, env) = Files();
        using var _ = dir;
        var kind = KubeConfig.Load(null, null, null, env);
        Assert.Equal("kind", kind.ContextName); // current-context from the first file that sets it
        Assert.Equal(new Uri("https://127.0.0.1:6443"), kind.Server); // the second file's "kind" cluster is shadowed
        Assert.Equal("bench", kind.Namespace);
        // relative to main.yaml
        Assert.Equal("CA PEM", System.Text.Encoding.ASCII.GetString(kind.CertificateAuthorityPem!));
        Assert.Equal("cert", System.Text.Encoding.ASCII.GetString(kind.ClientCertificatePem!));

        var eks = KubeConfig.Load(null, "eks", "other-ns", env);
        Assert.Equal("other-ns", eks.Namespace);
        Assert.True(eks.InsecureSkipTlsVerify);
        Assert.Equal(dir.File("other/bin/login-helper"), eks.Exec!.Command); // relative to the file that names it
        Assert.Equal(["token", "--cluster", "eks"], eks.Exec.Args);
        Assert.Equal("bench", eks.Exec.Env["AWS_PROFILE"]);
        Assert.Equal("client.authentication.k8s.io/v1beta1", eks.Exec.ApiVersion);
    }

    [Fact]
    public void Mistakes_name_the_file_line_and_what_is_allowed()
    {
        var (dir, env) = Files();
        using var _ = dir;
        var context = Assert.Throws<KubeConfigException>(() => KubeConfig.Load(null, "prod", null, env));
        Assert.Equal("--context: no context 'prod'; allowed: eks, kind", context.Message);

        File.WriteAllText(
            dir.File("bad.yaml"),
            "clusters:\n  - name: c\n    cluster:\n      server: https://x\n      certificate-authority-data: "
                + "'%%%'\ncontexts:\n  - name: c\n    context: { cluster: c }\ncurrent-context: c\n"
        );
        var data = Assert.Throws<KubeConfigException>(() => KubeConfig.Load(dir.File("bad.yaml"), null, null, env));
        Assert.Equal($"{dir.File("bad.yaml")}:5: certificate-authority-data: not valid base64", data.Message);

        var missing = Assert.Throws<KubeConfigException>(() => KubeConfig.Load(dir.File("nope.yaml"), null, null, env));
        Assert.Contains("no such file", missing.Message);
        var none = Assert.Throws<KubeConfigException>(() =>
            KubeConfig.Load(null, null, null, new Dictionary<string, string?> { ["HOME"] = dir.File("empty-home") })
        );
        Assert.Contains("no kubeconfig found", none.Message);
    }
}

/// <summary>The kube client's TLS against a real TLS endpoint (the fake API server behind a TLS front that requires a
/// client certificate).</summary>
[Trait(Category.Name, Category.Integration)]
public class KubeTlsTests
{
    /// <summary>An API server answering /version, behind a TLS front with the PKI's server certificate.</summary>
    private static (FakeApiServer Api, TlsFront Front) Start(TestPki pki)
    {
        var api = new FakeApiServer(
            (r, response) =>
                FakeApiServer.Json(response, new System.Text.Json.Nodes.JsonObject { ["gitVersion"] = "v1.31.2" })
        );
        return (api, new TlsFront(pki, api.Uri.Port));
    }

    private static KubeConnection Connection(
        TlsFront front,
        byte[]? ca,
        TestPki pki,
        bool insecure = false,
        string? serverName = null,
        bool clientCertificate = true
    ) =>
        new(
            new Uri($"https://127.0.0.1:{front.Port}/"),
            "default",
            "tls",
            ca,
            insecure,
            serverName,
            clientCertificate ? pki.ClientCertificatePem : null,
            clientCertificate ? pki.ClientKeyPem : null,
            null,
            null,
            null
        );

    [Fact]
    public async Task The_kubeconfigs_ca_and_client_certificate_carry_a_request_through_real_tls()
    {
        using var pki = new TestPki();
        var (api, front) = Start(pki);
        await using var _ = api;
        await using var __ = front;
        using var dir = new TempDirectory();
        // As kubectl reads it: base64 PEM data inline.
        var kubeconfig = dir.File("config");
        File.WriteAllText(
            kubeconfig,
            $"""
            apiVersion: v1
            kind: Config
            current-context: tls
            clusters:
              - name: tls
                cluster:
                  server: https://127.0.0.1:{front.Port}
                  certificate-authority-data: {Convert.ToBase64String(pki.CaPem)}
            contexts:
              - name: tls
                context: {"{"} cluster: tls, user: admin {"}"}
            users:
              - name: admin
                user:
                  client-certificate-data: {Convert.ToBase64String(pki.ClientCertificatePem)}
                  client-key-data: {Convert.ToBase64String(pki.ClientKeyPem)}
            """
        );
        using var kube = new KubeClient(KubeConfig.Load(kubeconfig, null, null));
        var version = await kube.VersionAsync(CancellationToken.None);
        Assert.Equal("v1.31.2", (string?)version["gitVersion"]);
        Assert.Equal(["CN=cnibench-user, O=system:masters"], front.ClientSubjects.Distinct());
    }

    [Fact]
    public async Task A_server_certificate_from_another_ca_or_for_another_name_is_refused_and_said_so()
    {
        using var pki = new TestPki();
        using var other = new TestPki();
        var (api, front) = Start(pki);
        await using var _ = api;
        await using var __ = front;

        using (var wrongCa = new KubeClient(Connection(front, other.CaPem, pki)))
        {
            var e = await Assert.ThrowsAsync<KubeConnectionException>(() =>
                wrongCa.VersionAsync(CancellationToken.None)
            );
            Assert.Contains("TLS handshake failed", e.Message);
            Assert.Contains("certificate-authority", e.Message);
        }
        // The certificate names 127.0.0.1; asking for another name fails even with the right CA.
        using (var wrongName = new KubeClient(Connection(front, pki.CaPem, pki, serverName: "kubernetes.default")))
            await Assert.ThrowsAsync<KubeConnectionException>(() => wrongName.VersionAsync(CancellationToken.None));
        // insecure-skip-tls-verify takes any server certificate (the client certificate is still sent).
        using (var insecure = new KubeClient(Connection(front, null, pki, insecure: true)))
            Assert.Equal("v1.31.2", (string?)(await insecure.VersionAsync(CancellationToken.None))["gitVersion"]);
        // The server requires a client certificate: without one, no request gets through.
        using (var anonymous = new KubeClient(Connection(front, pki.CaPem, pki, clientCertificate: false)))
            await Assert.ThrowsAsync<KubeConnectionException>(() => anonymous.VersionAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Pod_exec_over_a_websocket_uses_the_same_ca_and_client_certificate()
    {
        using var pki = new TestPki();
        await using var api = new FakeApiServer(
            (_, response) => FakeApiServer.Status(response, 400, "BadRequest", "expected a WebSocket"),
            context => KubeExecTests.ServeExecAsync(context, "v5.channel.k8s.io", 0)
        );
        await using var front = new TlsFront(pki, api.Uri.Port);
        using (var kube = new KubeClient(Connection(front, pki.CaPem, pki)))
        {
            var result = await KubeExec.RunAsync(
                kube,
                "bench",
                "agent-0",
                "agent",
                ["uname", "-r"],
                CancellationToken.None
            );
            Assert.Equal("uname -r\n", result.Stdout);
            Assert.Equal(0, result.ExitCode);
        }
        Assert.Equal(["CN=cnibench-user, O=system:masters"], front.ClientSubjects.Distinct());
        using var other = new TestPki();
        using var wrongCa = new KubeClient(Connection(front, other.CaPem, pki));
        var e = await Assert.ThrowsAsync<KubeConnectionException>(() =>
            KubeExec.RunAsync(wrongCa, "bench", "agent-0", "agent", ["uname"], CancellationToken.None)
        );
        Assert.StartsWith("exec in bench/agent-0: TLS handshake failed", e.Message);
    }

    [Fact]
    public async Task Tls_server_name_checks_the_certificate_against_the_name_given_instead_of_the_address()
    {
        using var pki = new TestPki(serverName: "kubernetes.default.svc");
        var (api, front) = Start(pki);
        await using var _ = api;
        await using var __ = front;
        using (var byAddress = new KubeClient(Connection(front, pki.CaPem, pki)))
            await Assert.ThrowsAsync<KubeConnectionException>(() => byAddress.VersionAsync(CancellationToken.None));
        using var byName = new KubeClient(Connection(front, pki.CaPem, pki, serverName: "kubernetes.default.svc"));
        Assert.Equal("v1.31.2", (string?)(await byName.VersionAsync(CancellationToken.None))["gitVersion"]);
    }
}
