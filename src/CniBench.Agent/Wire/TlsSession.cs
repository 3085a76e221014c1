using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CniBench.Agent.Wire;

/// <summary>
/// TLS 1.3 around the TCP data protocol (tls-rr, tls-crr): the client's first bytes are a handshake record instead of
/// the hello, and the hello and the transactions follow inside the session. The server's certificate is made when the
/// agent first needs it; nothing is read from files. The server issues no session tickets, so every connection makes a
/// full handshake, as a client meeting a server for the first time does: the cost the encryption comparisons ask about.
/// </summary>
public static class TlsSession
{
    /// <summary>TLS record type 22: the first byte a TLS client sends. A plain connection starts with the hello's
    /// 'C'.</summary>
    public const byte HandshakeRecord = 22;

    private const string ServerName = "cnibench-agent";

    /// <summary>A self-signed P-256 certificate for the agent's data port, valid from a day ago for a year.</summary>
    public static SslServerAuthenticationOptions CreateServerOptions()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + ServerName, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(
            new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true)
        );
        var now = DateTimeOffset.UtcNow;
        var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
        return new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(
                certificate,
                additionalCertificates: null,
                offline: true
            ),
            EnabledSslProtocols = SslProtocols.Tls13,
            AllowTlsResume = false,
        };
    }

    /// <summary>
    /// Client side, blocking (a worker thread owns the connection). The certificate is not checked: it was made
    /// moments ago by an agent the controller started, and the benchmark measures the encryption, not a trust chain.
    /// </summary>
    public static SslStream Connect(Socket socket)
    {
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        try
        {
            tls.AuthenticateAsClient(ClientOptions());
            return tls;
        }
        catch
        {
            tls.Dispose();
            throw;
        }
    }

    /// <summary>One handshake on a connected socket, then the session is closed (the job's preflight).</summary>
    public static async Task HandshakeAsync(Socket socket, CancellationToken cancellationToken)
    {
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        await tls.AuthenticateAsClientAsync(ClientOptions(), cancellationToken);
    }

    private static SslClientAuthenticationOptions ClientOptions() =>
        new()
        {
            TargetHost = ServerName,
            EnabledSslProtocols = SslProtocols.Tls13,
            // The chain is built even when the callback accepts it: keep that offline and quick.
            CertificateChainPolicy = new X509ChainPolicy
            {
                RevocationMode = X509RevocationMode.NoCheck,
                DisableCertificateDownloads = true,
            },
            // See Connect: an ephemeral certificate of an agent this run started; nothing to validate it against.
#pragma warning disable CA5359
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
#pragma warning restore CA5359
        };
}
