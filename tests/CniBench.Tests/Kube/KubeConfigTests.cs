using CniBench.Cli.Kube;
using CniBench.Tests.Support;

namespace CniBench.Tests.Kube;

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
        return (dir, new() { ["KUBECONFIG"] = $"{dir.File("main.yaml")}:{dir.File("missing.yaml")}:{dir.File("other/second.yaml")}" });
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
        Assert.Equal("CA PEM", System.Text.Encoding.ASCII.GetString(kind.CertificateAuthorityPem!)); // relative to main.yaml
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

        File.WriteAllText(dir.File("bad.yaml"), "clusters:\n  - name: c\n    cluster:\n      server: https://x\n      certificate-authority-data: '%%%'\ncontexts:\n  - name: c\n    context: { cluster: c }\ncurrent-context: c\n");
        var data = Assert.Throws<KubeConfigException>(() => KubeConfig.Load(dir.File("bad.yaml"), null, null, env));
        Assert.Equal($"{dir.File("bad.yaml")}:5: certificate-authority-data: not valid base64", data.Message);

        var missing = Assert.Throws<KubeConfigException>(() => KubeConfig.Load(dir.File("nope.yaml"), null, null, env));
        Assert.Contains("no such file", missing.Message);
        var none = Assert.Throws<KubeConfigException>(() => KubeConfig.Load(null, null, null, new Dictionary<string, string?> { ["HOME"] = dir.File("empty-home") }));
        Assert.Contains("no kubeconfig found", none.Message);
    }
}
