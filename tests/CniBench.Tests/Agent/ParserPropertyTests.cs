using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using CniBench.Agent.Http;
using CniBench.Agent.Wire;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;
using CsCheck;

namespace CniBench.Tests.Agent;

/// <summary>
/// Every parser that reads network bytes, fed random and boundary inputs (CsCheck): it never throws, and
/// whatever it accepts is within the bounds the servers size their buffers by.
/// </summary>
[Trait(Category.Name, Category.Unit)]
public class ParserPropertyTests
{
    private const long Iterations = 20_000;

    /// <summary>Sizes an attacker would pick: the edges of every integer type and of our limits.</summary>
    private static readonly Gen<uint> EdgySize = Gen.OneOf<uint>(
        Gen.UInt,
        Gen.OneOf<uint>(
            0u,
            1u,
            (uint)Limits.MaxMessageSize,
            (uint)Limits.MaxMessageSize + 1,
            int.MaxValue,
            (uint)int.MaxValue + 1,
            uint.MaxValue,
            0xfffffffbu
        )
    );

    [Fact]
    public void A_tcp_hello_of_any_bytes_is_either_refused_or_within_limits()
    {
        var hello = Gen.Select(Gen.Byte, Gen.Byte, EdgySize, EdgySize, (mode, flags, request, response) =>
        {
            var bytes = new byte[ControlProtocol.TcpHelloSize];
            ControlProtocol.TcpMagic.CopyTo(bytes);
            bytes[4] = (byte)(mode % 5);
            bytes[5] = flags;
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), request);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), response);
            return bytes;
        });
        Gen.OneOf(hello, Gen.Byte.Array[0, 40])
            .Sample(
                bytes =>
                {
                    if (!TcpHello.TryRead(bytes, out var h, out var error))
                    {
                        Assert.NotEmpty(error);
                        return;
                    }
                    Assert.InRange(h.RequestSize, 0, Limits.MaxMessageSize);
                    Assert.InRange(h.ResponseSize, 0, Limits.MaxMessageSize);
                    _ = checked(Math.Max(h.RequestSize, h.ResponseSize) + 1); // what the server sizes its buffer by
                },
                iter: Iterations,
                threads: 1
            );
    }

    [Fact]
    public void A_udp_header_of_any_bytes_is_either_refused_or_a_known_type()
    {
        var framed = Gen
            .Byte.Array[UdpHeader.Size, 80]
            .Select(bytes =>
            {
                ControlProtocol.UdpMagic.CopyTo(bytes);
                return bytes;
            });
        Gen.OneOf(framed, Gen.Byte.Array[0, 64])
            .Sample(
                bytes =>
                {
                    if (!UdpHeader.TryRead(bytes, out var header))
                        return;
                    Assert.InRange((int)header.Type, (int)UdpType.Data, (int)UdpType.StatsReply);
                    Assert.InRange(header.ReplySize, 0, 0xffffff);
                },
                iter: Iterations,
                threads: 1
            );
    }

    [Fact]
    public void An_http_request_of_any_bytes_is_parsed_refused_or_waited_for_never_thrown()
    {
        var limits = new HttpLimits();
        var token = Gen.OneOf(
            "GET",
            "POST",
            "/echo",
            "/v1/jobs",
            "HTTP/1.1",
            "HTTP/1.0",
            "HTTP/2",
            " ",
            "\r\n",
            ":",
            "Content-Length",
            "Transfer-Encoding",
            "Connection",
            "close",
            "-1",
            "+3",
            "0",
            "99999999999999999999",
            "\0",
            "\t",
            "\u00ff",
            "?size=",
            "Host"
        );
        var structured = token.Array[0, 40].Select(parts => Encoding.Latin1.GetBytes(string.Concat(parts)));
        var wellFormed = Gen.Select(
            Gen.OneOf("GET", "POST", "PUT"),
            Gen.Int[0, 200],
            Gen.Byte.Array[0, 64],
            (method, length, body) =>
                Encoding
                    .ASCII.GetBytes($"{method} /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {length}\r\n\r\n")
                    .Concat(body)
                    .ToArray()
        );
        Gen.OneOf(structured, wellFormed, Gen.Byte.Array[0, 300])
            .Sample(
                bytes =>
                {
                    var result = HttpRequestParser.TryParse(bytes, limits);
                    switch (result.Status)
                    {
                        case ParseStatus.Complete:
                            Assert.InRange(result.Consumed, 1, bytes.Length);
                            Assert.True(result.Request!.Body.Length <= limits.MaxBodyBytes);
                            break;
                        case ParseStatus.Invalid:
                            Assert.InRange(result.ErrorStatus, 400, 599);
                            Assert.False(string.IsNullOrEmpty(result.Reason));
                            break;
                    }
                },
                iter: Iterations,
                threads: 1
            );
    }

    [Fact]
    public void A_job_spec_of_any_json_is_refused_cleanly_or_checked_against_limits()
    {
        var number = Gen.OneOf(
            "0",
            "-1",
            "1e400",
            "NaN",
            "\"NaN\"",
            "\"Infinity\"",
            "2147483648",
            "-2147483649",
            "1.5",
            "null",
            "true",
            "\"x\"",
            "[]",
            "{}"
        );
        var field = Gen.OneOf(
            "kind",
            "parallel",
            "rate",
            "requestSize",
            "responseSize",
            "messageSize",
            "timeoutMs",
            "bitrate",
            "target",
            "processes",
            "httpModel"
        );
        var workload = Gen.Select(field, number)
            .Array[0, 8]
            .Select(pairs => "{" + string.Join(",", pairs.Select(p => $"\"{p.Item1}\":{p.Item2}")) + "}");
        var spec = Gen.Select(workload, number, number, number, (w, warmup, duration, timeout) =>
            $"{{\"workload\":{w},\"warmupMs\":{warmup},\"durationMs\":{duration},\"controllerTimeoutMs\":{timeout}}}"
        );
        Gen.OneOf(spec, Gen.String)
            .Sample(
                json =>
                {
                    JobSpec? parsed;
                    try
                    {
                        parsed = JsonSerializer.Deserialize(json, ContractsJson.Default.JobSpec);
                    }
                    catch (JsonException)
                    {
                        return;
                    } // answered with 400 "malformed JSON body"
                    if (parsed?.Workload is null)
                        return;
                    foreach (var problem in Limits.Check(parsed.Workload))
                        Assert.Contains(": ", problem);
                    if (Limits.Check(parsed.Workload).Count == 0 && parsed.Workload.Kind is WorkloadKind.Probe)
                        Assert.True(double.IsFinite(parsed.Workload.Rate) && parsed.Workload.Rate > 0);
                },
                iter: Iterations,
                threads: 1
            );
    }
}
