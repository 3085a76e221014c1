using System.Net;
using System.Net.Sockets;
using System.Text;
using CniBench.Cli.Targets.Kube.Api;
using CniBench.Tests.Support;

namespace CniBench.Tests.Kube;

/// <summary>Kubeconfig settings beyond a token or certificate: impersonation, proxy-url, and the ones refused with a
/// reason.</summary>
[Trait(Category.Name, Category.Integration)]
public class KubeConfigUserTests
{
    private static string Write(TempDirectory dir, string server, string user, string cluster = "")
    {
        File.WriteAllText(
            dir.File("config"),
            $"""
            apiVersion: v1
            kind: Config
            current-context: c
            clusters:
              - name: c
                cluster:
                  server: {server}
            {cluster}
            contexts:
              - name: c
                context: {"{"} cluster: c, user: u {"}"}
            users:
              - name: u
                user:
            {user}
            """
        );
        return dir.File("config");
    }

    [Theory]
    [InlineData("      auth-provider:\n        name: gcp", "auth-provider is not supported", ":15:")]
    [InlineData(
        "      username: admin\n      password: secret",
        "basic authentication (username/password) is not supported",
        ":15:"
    )]
    [InlineData("      token: t\n      as-user-extra: {a: [b]}", "as-user-extra is not supported", ":16:")]
    public void Settings_this_client_cannot_honour_are_refused_with_where_and_what_to_use_instead(
        string user,
        string message,
        string line
    )
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<KubeConfigException>(() =>
            KubeConfig.Load(Write(dir, "https://127.0.0.1:6443", user), null, null)
        );
        Assert.Contains(message, e.Message);
        Assert.Contains(dir.File("config") + line, e.Message);
    }

    [Fact]
    public async Task As_and_as_groups_impersonate_on_every_request()
    {
        await using var api = new FakeApiServer(
            (_, response) =>
                FakeApiServer.Json(response, new System.Text.Json.Nodes.JsonObject { ["gitVersion"] = "v1.32.13" })
        );
        using var dir = new TempDirectory();
        var config = Write(
            dir,
            api.Uri.ToString(),
            "      token: t0k\n      as: jane\n      as-groups: [developers, qa]\n      as-uid: \"42\""
        );
        using var kube = new KubeClient(KubeConfig.Load(config, null, null));
        await kube.VersionAsync(default);
        var request = Assert.Single(api.Requests);
        Assert.Equal("jane", request.Headers["Impersonate-User"]);
        // one header per group, joined by the listener
        Assert.Equal("developers, qa", request.Headers["Impersonate-Group"]);
        Assert.Equal("42", request.Headers["Impersonate-Uid"]);
        Assert.Equal("Bearer t0k", request.Authorization);
    }

    [Fact]
    public async Task Proxy_url_sends_every_request_through_that_proxy()
    {
        // A forward proxy that answers by itself: it records the absolute-form request line it was sent.
        using var proxy = new TcpListener(IPAddress.Loopback, 0);
        proxy.Start();
        var seen = Task.Run(async () =>
        {
            using var client = await proxy.AcceptTcpClientAsync();
            var stream = client.GetStream();
            var buffer = new byte[4096];
            int n = await stream.ReadAsync(buffer);
            var body = """{"gitVersion":"v1.32.13"}""";
            await stream.WriteAsync(
                Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                        + $"{body.Length}\r\nConnection: close\r\n\r\n{body}"
                )
            );
            return Encoding.ASCII.GetString(buffer, 0, n).Split("\r\n")[0];
        });
        using var dir = new TempDirectory();
        var config = Write(
            dir,
            "http://10.255.255.1:6443",
            "      token: t0k",
            $"      proxy-url: http://127.0.0.1:{((IPEndPoint)proxy.LocalEndpoint).Port}"
        );
        using var kube = new KubeClient(KubeConfig.Load(config, null, null));
        var version = await kube.VersionAsync(default);
        Assert.Equal("v1.32.13", (string?)version["gitVersion"]);
        Assert.Equal("GET http://10.255.255.1:6443/version HTTP/1.1", await seen.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void A_proxy_url_that_is_no_proxy_is_refused()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<KubeConfigException>(() =>
            KubeConfig.Load(
                Write(dir, "https://127.0.0.1:6443", "      token: t", "      proxy-url: ftp://proxy"),
                null,
                null
            )
        );
        Assert.Contains("cluster.proxy-url: 'ftp://proxy' is not a proxy URL", e.Message);
    }

    [Fact]
    public async Task A_server_chain_through_an_intermediate_of_the_kubeconfigs_ca_is_accepted()
    {
        using var pki = new TestPki(withIntermediate: true);
        await using var api = new FakeApiServer(
            (_, response) =>
                FakeApiServer.Json(response, new System.Text.Json.Nodes.JsonObject { ["gitVersion"] = "v1.32.13" })
        );
        await using var front = new TlsFront(pki, api.Uri.Port);
        var connection = new KubeConnection(
            new Uri($"https://127.0.0.1:{front.Port}/"),
            "default",
            "tls",
            pki.CaPem,
            false,
            null,
            pki.ClientCertificatePem,
            pki.ClientKeyPem,
            null,
            null,
            null
        );
        using var kube = new KubeClient(connection);
        Assert.Equal("v1.32.13", (string?)(await kube.VersionAsync(default))["gitVersion"]);
    }
}
