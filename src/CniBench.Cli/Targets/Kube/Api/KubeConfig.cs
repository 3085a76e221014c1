using YamlDotNet.RepresentationModel;

namespace CniBench.Cli.Targets.Kube.Api;

/// <summary>How to reach and authenticate to one API server: what a kubeconfig context resolves to.</summary>
public sealed record KubeConnection(
    Uri Server,
    string Namespace,
    string ContextName,
    byte[]? CertificateAuthorityPem,
    bool InsecureSkipTlsVerify,
    string? TlsServerName,
    byte[]? ClientCertificatePem,
    byte[]? ClientKeyPem,
    string? Token,
    string? TokenFile,
    ExecCredentialSpec? Exec,
    Impersonation? Impersonate = null,
    Uri? ProxyUrl = null
);

/// <summary>users[].user.as, as-groups, as-uid: act as this user, as kubectl --as does (the Impersonate-*
/// headers).</summary>
public sealed record Impersonation(string User, IReadOnlyList<string> Groups, string? Uid);

/// <summary>A credential plugin (users[].user.exec): a command that prints an ExecCredential.</summary>
public sealed record ExecCredentialSpec(
    string Command,
    IReadOnlyList<string> Args,
    IReadOnlyDictionary<string, string> Env,
    string ApiVersion,
    string BaseDirectory
);

/// <summary>A kubeconfig mistake: which file, line and field, and what is wrong.</summary>
public sealed class KubeConfigException(string message) : Exception(message);

/// <summary>
/// Reads kubeconfig as kubectl does: the files of KUBECONFIG (':'-separated) merged, the first file to set
/// a value winning (clusters, contexts and users by name; current-context from the first file that has
/// one); relative paths resolved against the file that names them; --context and --namespace on top.
/// Without any kubeconfig, inside a pod: the service account's token, CA and namespace.
/// </summary>
public static class KubeConfig
{
    public const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    private sealed record Named(string Name, YamlMappingNode Body, string File);

    public static KubeConnection Load(
        string? kubeconfig,
        string? context,
        string? namespaceOverride,
        IReadOnlyDictionary<string, string?>? environment = null
    )
    {
        string? Env(string name) =>
            environment is not null ? environment.GetValueOrDefault(name) : Environment.GetEnvironmentVariable(name);
        var files =
            kubeconfig is not null ? [kubeconfig]
            : Env("KUBECONFIG") is { Length: > 0 } list ? list.Split(':', StringSplitOptions.RemoveEmptyEntries)
            : [Path.Combine(Env("HOME") ?? "~", ".kube", "config")];
        var existing = files.Where(File.Exists).ToArray();
        if (kubeconfig is not null && existing.Length == 0)
            throw new KubeConfigException($"--kubeconfig: {kubeconfig}: no such file");
        if (existing.Length == 0)
        {
            if (
                Env("KUBERNETES_SERVICE_HOST") is { } host
                && File.Exists(Path.Combine(ServiceAccountDirectory, "token"))
            )
                return InCluster(host, Env("KUBERNETES_SERVICE_PORT") ?? "443", namespaceOverride);
            throw new KubeConfigException(
                $"no kubeconfig found (looked at {string.Join(", ", files)}); set KUBECONFIG or --kubeconfig"
            );
        }

        var clusters = new Dictionary<string, Named>();
        var contexts = new Dictionary<string, Named>();
        var users = new Dictionary<string, Named>();
        string? current = null;
        foreach (var file in existing)
        {
            var root = Parse(file);
            current ??= Scalar(root, "current-context");
            Collect(root, file, "clusters", "cluster", clusters);
            Collect(root, file, "contexts", "context", contexts);
            Collect(root, file, "users", "user", users);
        }

        string contextName = context
            ?? current
            ?? throw new KubeConfigException(
                $"{existing[0]}: current-context: not set; name one with --context ({string.Join(", ", contexts.Keys)})"
            );
        if (!contexts.TryGetValue(contextName, out var ctx))
            throw new KubeConfigException(
                $"{(context is null ? $"{existing[0]}: current-context" : "--context")}: no context '{contextName}'; "
                    + $"allowed: {string.Join(", ", contexts.Keys.Order(StringComparer.Ordinal))}"
            );
        string clusterName = Scalar(ctx.Body, "cluster") ?? throw Missing(ctx, "context.cluster");
        if (!clusters.TryGetValue(clusterName, out var cluster))
            throw new KubeConfigException(
                $"{ctx.File}: context '{contextName}' names cluster '{clusterName}', which no file defines"
            );
        var userName = Scalar(ctx.Body, "user");
        Named? user = null;
        if (userName is not null && !users.TryGetValue(userName, out user))
            throw new KubeConfigException(
                $"{ctx.File}: context '{contextName}' names user '{userName}', which no file defines"
            );

        string serverText = Scalar(cluster.Body, "server") ?? throw Missing(cluster, "cluster.server");
        if (!Uri.TryCreate(serverText, UriKind.Absolute, out var server) || server.Scheme is not ("https" or "http"))
            throw new KubeConfigException(
                $"{cluster.File}:{Line(cluster.Body, "server")}: cluster.server: '{serverText}' is not an http(s) URL"
            );
        var exec =
            user?.Body.Children.TryGetValue("exec", out var execNode) == true
                ? Exec(user, (YamlMappingNode)execNode)
                : null;
        if (user is not null)
            Unsupported(user);
        Uri? proxy = null;
        if (
            Scalar(cluster.Body, "proxy-url") is { } proxyText
            && (
                !Uri.TryCreate(proxyText, UriKind.Absolute, out proxy)
                || proxy.Scheme is not ("http" or "https" or "socks5")
            )
        )
            throw new KubeConfigException(
                $"{cluster.File}:{Line(cluster.Body, "proxy-url")}: cluster.proxy-url: '{proxyText}' is not a proxy "
                    + $"URL; allowed: http://, https://, socks5://"
            );
        return new KubeConnection(
            server,
            namespaceOverride ?? Scalar(ctx.Body, "namespace") ?? "default",
            contextName,
            Bytes(cluster, "certificate-authority-data", "certificate-authority"),
            Scalar(cluster.Body, "insecure-skip-tls-verify") == "true",
            Scalar(cluster.Body, "tls-server-name"),
            user is null ? null : Bytes(user, "client-certificate-data", "client-certificate"),
            user is null ? null : Bytes(user, "client-key-data", "client-key"),
            user is null ? null : Scalar(user.Body, "token"),
            user is null ? null : ResolvePath(user, Scalar(user.Body, "tokenFile")),
            exec,
            user is not null && Scalar(user.Body, "as") is { } actAs
                ? new Impersonation(
                    actAs,
                    user.Body.Children.TryGetValue("as-groups", out var g) && g is YamlSequenceNode groups
                        ? groups.Children.OfType<YamlScalarNode>().Select(n => n.Value ?? "").ToArray()
                        : [],
                    Scalar(user.Body, "as-uid")
                )
                : null,
            proxy
        );
    }

    /// <summary>User settings kubectl knows and this client does not: said so, rather than quietly sending requests
    /// without them.</summary>
    private static void Unsupported(Named user)
    {
        if (user.Body.Children.ContainsKey("auth-provider"))
            throw new KubeConfigException(
                $"{user.File}:{Line(user.Body, "auth-provider")}: user '{user.Name}': auth-provider is not supported "
                    + $"(kubectl dropped its built-in providers in v1.26); use an exec plugin such as kubelogin or "
                    + $"gke-gcloud-auth-plugin"
            );
        if (user.Body.Children.ContainsKey("username") || user.Body.Children.ContainsKey("password"))
            throw new KubeConfigException(
                $"{user.File}:"
                    + $"{Line(user.Body, user.Body.Children.ContainsKey("username") ? "username" : "password")}: user '"
                    + $"{user.Name}': basic authentication (username/password) is not supported (Kubernetes removed it "
                    + $"in v1.19); use a token, a client certificate or an exec plugin such as kubelogin"
            );
        if (user.Body.Children.ContainsKey("as-user-extra"))
            throw new KubeConfigException(
                $"{user.File}:{Line(user.Body, "as-user-extra")}: user '{user.Name}': as-user-extra is not "
                    + $"supported; as, as-groups and as-uid are"
            );
    }

    private static KubeConnection InCluster(string host, string port, string? namespaceOverride)
    {
        string ns = namespaceOverride
            ?? (
                File.Exists(Path.Combine(ServiceAccountDirectory, "namespace"))
                    ? File.ReadAllText(Path.Combine(ServiceAccountDirectory, "namespace")).Trim()
                    : "default"
            );
        var hostPart = host.Contains(':') ? $"[{host}]" : host;
        return new KubeConnection(
            new Uri($"https://{hostPart}:{port}"),
            ns,
            "in-cluster",
            File.ReadAllBytes(Path.Combine(ServiceAccountDirectory, "ca.crt")),
            false,
            null,
            null,
            null,
            null,
            Path.Combine(ServiceAccountDirectory, "token"),
            null
        );
    }

    private static YamlMappingNode Parse(string file)
    {
        var errors = new List<Scenarios.ScenarioError>();
        var document = Scenarios.YamlText.Read(File.ReadAllText(file), file, errors);
        if (errors.Count > 0)
            throw new KubeConfigException(
                $"{errors[0].File}:{errors[0].Line}:{errors[0].Column}: not valid YAML: {errors[0].Problem}"
                    + (errors[0].Allowed is { } allowed ? $"; allowed: {allowed}" : "")
            );
        if (document is null)
            return new YamlMappingNode();
        return document.RootNode as YamlMappingNode
            ?? throw new KubeConfigException(
                $"{file}:1: a kubeconfig must be a mapping (apiVersion, clusters, contexts, users)"
            );
    }

    private static void Collect(
        YamlMappingNode root,
        string file,
        string listKey,
        string bodyKey,
        Dictionary<string, Named> into
    )
    {
        if (!root.Children.TryGetValue(listKey, out var node) || node is not YamlSequenceNode list)
            return;
        foreach (var item in list.Children.OfType<YamlMappingNode>())
        {
            var name = Scalar(item, "name")
                ?? throw new KubeConfigException($"{file}:{item.Start.Line}: {listKey}[].name: missing");
            if (into.ContainsKey(name))
                continue; // the first file to define a name wins
            var body =
                item.Children.TryGetValue(bodyKey, out var b) && b is YamlMappingNode m ? m : new YamlMappingNode();
            into[name] = new Named(name, body, file);
        }
    }

    private static ExecCredentialSpec Exec(Named user, YamlMappingNode exec)
    {
        var command = Scalar(exec, "command") ?? throw Missing(user, "user.exec.command");
        var args =
            exec.Children.TryGetValue("args", out var a) && a is YamlSequenceNode seq
                ? seq.Children.OfType<YamlScalarNode>().Select(s => s.Value ?? "").ToArray()
                : [];
        var env = new Dictionary<string, string>();
        if (exec.Children.TryGetValue("env", out var e) && e is YamlSequenceNode envs)
            foreach (var item in envs.Children.OfType<YamlMappingNode>())
                env[Scalar(item, "name") ?? ""] = Scalar(item, "value") ?? "";
        // A command given as a relative path with a slash is relative to the kubeconfig; a bare name is looked up on
        // PATH.
        var directory = Path.GetDirectoryName(Path.GetFullPath(user.File)) ?? ".";
        if (command.Contains('/') && !Path.IsPathRooted(command))
            command = Path.GetFullPath(Path.Combine(directory, command));
        return new ExecCredentialSpec(
            command,
            args,
            env,
            Scalar(exec, "apiVersion") ?? "client.authentication.k8s.io/v1",
            directory
        );
    }

    private static byte[]? Bytes(Named owner, string dataKey, string fileKey)
    {
        if (Scalar(owner.Body, dataKey) is { } data)
        {
            try
            {
                return Convert.FromBase64String(data);
            }
            catch (FormatException)
            {
                throw new KubeConfigException($"{owner.File}:{Line(owner.Body, dataKey)}: {dataKey}: not valid base64");
            }
        }
        if (ResolvePath(owner, Scalar(owner.Body, fileKey)) is { } path)
            return File.Exists(path)
                ? File.ReadAllBytes(path)
                : throw new KubeConfigException(
                    $"{owner.File}:{Line(owner.Body, fileKey)}: {fileKey}: {path}: no such file"
                );
        return null;
    }

    private static string? ResolvePath(Named owner, string? path) =>
        path is null ? null
        : Path.IsPathRooted(path) ? path
        : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(owner.File)) ?? ".", path));

    private static string? Scalar(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(key, out var node) && node is YamlScalarNode { Value: { Length: > 0 } v } ? v : null;

    private static long Line(YamlMappingNode map, string key) =>
        map.Children.Keys.FirstOrDefault(k => (k as YamlScalarNode)?.Value == key)?.Start.Line ?? map.Start.Line;

    private static KubeConfigException Missing(Named owner, string field) =>
        new($"{owner.File}:{owner.Body.Start.Line}: {field} of '{owner.Name}': missing");
}
