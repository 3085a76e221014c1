using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CniBench.Tests.Support;

/// <summary>A test PKI: a CA, and server and client certificates it signed, with PEM exports as a kubeconfig holds
/// them.</summary>
public sealed class TestPki : IDisposable
{
    /// <param name="withIntermediate">The server certificate is signed by an intermediate CA (itself signed by <see
    /// cref="Ca"/>), which the server sends along.</param>
    public TestPki(string serverName = "127.0.0.1", bool withIntermediate = false)
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest(
            "CN=cnibench-test-ca",
            caKey,
            HashAlgorithmName.SHA256,
            RSASignaturePadding.Pkcs1
        );
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(
            new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true)
        );
        Ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-10), DateTimeOffset.UtcNow.AddDays(2));
        if (withIntermediate)
        {
            var key = RSA.Create(2048);
            var request = new CertificateRequest(
                "CN=cnibench-test-intermediate",
                key,
                HashAlgorithmName.SHA256,
                RSASignaturePadding.Pkcs1
            );
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(
                new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true)
            );
            using var signed = request.Create(
                Ca,
                DateTimeOffset.UtcNow.AddMinutes(-5),
                DateTimeOffset.UtcNow.AddDays(1),
                RandomNumberGenerator.GetBytes(8)
            );
            Intermediate = signed.CopyWithPrivateKey(key);
        }
        Server = Issue("CN=kube-apiserver", serverName, X509EnhancedKeyUsageExtension_ServerAuth, Intermediate ?? Ca);
        Client = Issue("CN=cnibench-user, O=system:masters", null, "1.3.6.1.5.5.7.3.2", Ca);
    }

    public X509Certificate2? Intermediate { get; }

    private const string X509EnhancedKeyUsageExtension_ServerAuth = "1.3.6.1.5.5.7.3.1";

    public X509Certificate2 Ca { get; }
    public X509Certificate2 Server { get; }
    public X509Certificate2 Client { get; }

    public byte[] CaPem => System.Text.Encoding.ASCII.GetBytes(Ca.ExportCertificatePem());
    public byte[] ClientCertificatePem => System.Text.Encoding.ASCII.GetBytes(Client.ExportCertificatePem());
    public byte[] ClientKeyPem =>
        System.Text.Encoding.ASCII.GetBytes(Client.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());

    private static X509Certificate2 Issue(string subject, string? serverName, string usage, X509Certificate2 issuer)
    {
        var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        if (serverName is not null)
        {
            var names = new SubjectAlternativeNameBuilder();
            if (IPAddress.TryParse(serverName, out var ip))
                names.AddIpAddress(ip);
            else
                names.AddDnsName(serverName);
            request.CertificateExtensions.Add(names.Build());
        }
        // Within the issuer's validity: one made a second earlier with "a day from now" ends a second sooner.
        using var signed = request.Create(
            issuer,
            new DateTimeOffset(issuer.NotBefore.ToUniversalTime()),
            new DateTimeOffset(issuer.NotAfter.ToUniversalTime()).AddMinutes(-1),
            RandomNumberGenerator.GetBytes(8)
        );
        // Exported and loaded again: a server certificate for SslStream needs its key in a form the platform can use.
        using var withKey = signed.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    public void Dispose()
    {
        Ca.Dispose();
        Intermediate?.Dispose();
        Server.Dispose();
        Client.Dispose();
    }
}

/// <summary>
/// TLS in front of a plain HTTP test server, as an API server terminates it: its certificate from the test
/// PKI, a client certificate required and checked against the PKI's CA; the decrypted bytes go to the
/// backend port. Records the subject of every client certificate it accepted.
/// </summary>
public sealed class TlsFront : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private readonly TestPki _pki;
    private readonly int _backendPort;
    private readonly List<string> _clients = new();

    public TlsFront(TestPki pki, int backendPort)
    {
        _pki = pki;
        _backendPort = backendPort;
        _listener.Start();
        _accept = Task.Run(AcceptAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public IReadOnlyList<string> ClientSubjects
    {
        get
        {
            lock (_clients)
                return _clients.ToArray();
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                await using var tls = new SslStream(client.GetStream());
                await tls.AuthenticateAsServerAsync(
                    new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = SslStreamCertificateContext.Create(
                            _pki.Server,
                            _pki.Intermediate is null ? null : new X509Certificate2Collection(_pki.Intermediate),
                            offline: true
                        ),
                        ClientCertificateRequired = true,
                        RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                            certificate is not null && SignedByCa(certificate),
                    },
                    _stop.Token
                );
                lock (_clients)
                    _clients.Add(tls.RemoteCertificate!.Subject);
                using var backend = new TcpClient();
                await backend.ConnectAsync(IPAddress.Loopback, _backendPort, _stop.Token);
                var up = tls.CopyToAsync(backend.GetStream(), _stop.Token);
                var down = backend.GetStream().CopyToAsync(tls, _stop.Token);
                await Task.WhenAny(up, down);
            }
            catch (Exception e)
                when (e
                        is IOException
                            or SocketException
                            or OperationCanceledException
                            or System.Security.Authentication.AuthenticationException
                ) { }
        }
    }

    private bool SignedByCa(X509Certificate certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_pki.Ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var presented = new X509Certificate2(certificate);
        return chain.Build(presented);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accept;
        _stop.Dispose();
    }
}
