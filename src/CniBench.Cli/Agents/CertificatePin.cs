using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CniBench.Cli.Agents;

/// <summary>
/// The SHA-256 of an agent's self-signed control certificate. Pinning replaces the chain and name checks: a
/// per-run certificate has neither a CA nor a stable name, and the hash alone says it is the agent we started.
/// </summary>
public sealed record CertificatePin(byte[] Sha256)
{
    public static bool TryParse(string text, out CertificatePin pin)
    {
        var hex = text.Replace(":", "", StringComparison.Ordinal).Trim();
        if (hex.StartsWith("sha256/", StringComparison.OrdinalIgnoreCase))
            hex = hex[7..];
        pin = new CertificatePin([]);
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
            return false;
        pin = new CertificatePin(Convert.FromHexString(hex));
        return true;
    }

    public static CertificatePin Parse(string text) =>
        TryParse(text, out var pin) ? pin : throw new FormatException($"'{text}' is not a SHA-256 (64 hex digits)");

    public bool Matches(X509Certificate? certificate) =>
        certificate is not null
        && CryptographicOperations.FixedTimeEquals(SHA256.HashData(certificate.GetRawCertData()), Sha256);

    public override string ToString() => Convert.ToHexString(Sha256).ToLower(CultureInfo.InvariantCulture);
}
