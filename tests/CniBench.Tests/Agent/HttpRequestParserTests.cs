using System.Text;
using CniBench.Agent.Http;
using CniBench.Tests.Support;

namespace CniBench.Tests.Agent;

[Trait(Category.Name, Category.Unit)]
public class HttpRequestParserTests
{
    private static readonly HttpLimits Limits = new(MaxHeaderBytes: 256, MaxHeaderCount: 4, MaxBodyBytes: 16);

    private static ParseResult Parse(string text) => HttpRequestParser.TryParse(Encoding.ASCII.GetBytes(text), Limits);

    [Fact]
    public void Parses_a_request_with_query_headers_and_body()
    {
        var r = Parse("POST /v1/jobs?cursor=3 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}NEXT");
        Assert.Equal(ParseStatus.Complete, r.Status);
        Assert.Equal("POST", r.Request!.Method);
        Assert.Equal("/v1/jobs", r.Request.Path);
        Assert.Equal("3", r.Request.QueryValue("cursor"));
        Assert.Equal("{}", Encoding.ASCII.GetString(r.Request.Body.Span));
        Assert.Equal(
            Encoding.ASCII.GetByteCount("POST /v1/jobs?cursor=3 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"),
            r.Consumed
        );
        Assert.True(r.KeepAlive);
    }

    [Fact]
    public void A_keep_alive_echo_exchange_allocates_only_its_request_and_response_records()
    {
        // Parse, answer and write the same request again and again on one connection, as a keep-alive client makes
        // the server do; measured on this thread alone.
        var bytes = Encoding.ASCII.GetBytes(
            "GET /echo?size=64 HTTP/1.1\r\nHost: 127.0.0.1:7280\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"
        );
        var connection = new HttpConnectionInfo("127.0.0.1", "127.0.0.1");
        var echo = new CniBench.Agent.Servers.EchoHandler(new("host", "pod", "node"));
        var output = new System.Buffers.ArrayBufferWriter<byte>(4096);
        var limits = new HttpLimits();
        void Exchange()
        {
            var parsed = HttpRequestParser.TryParse(bytes, limits, connection);
            var answer = echo.HandleAsync(parsed.Request!, default);
            Assert.True(answer.IsCompletedSuccessfully); // the echo answers at once: nothing to await
            output.ResetWrittenCount();
            HttpServer.WriteResponse(output, answer.Result, parsed.KeepAlive);
        }
        for (int i = 0; i < 100; i++)
            Exchange(); // strings, headers and JIT settle
        const int Exchanges = 1000;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Exchanges; i++)
            Exchange();
        double perExchange = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Exchanges;
        // The request and the response records (72 and 64 bytes); the strings, the headers' dictionary and the
        // response head are reused or written in place.
        Assert.True(perExchange <= 160, $"{perExchange:0} bytes per exchange");
        Assert.Contains("Content-Length: 64\r\n", Encoding.ASCII.GetString(output.WrittenSpan));
    }

    [Theory]
    [InlineData("GET /echo HTTP/1.1\r\nHost: x\r\n")]
    [InlineData("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab")]
    public void Incomplete_input_asks_for_more(string text) => Assert.Equal(ParseStatus.Incomplete, Parse(text).Status);

    [Theory]
    [InlineData("GARBAGE\r\n\r\n", 400)]
    [InlineData("get / HTTP/1.1\r\n\r\n", 400)]
    [InlineData("GET nopath HTTP/1.1\r\n\r\n", 400)]
    [InlineData("GET / HTTP/2.0\r\n\r\n", 505)]
    [InlineData("GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nContent-Length: 17\r\n\r\n", 413)]
    [InlineData("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501)]
    [InlineData("GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\ne: 5\r\n\r\n", 431)]
    public void Bad_requests_get_a_status_and_a_reason(string text, int status)
    {
        var r = Parse(text);
        Assert.Equal(ParseStatus.Invalid, r.Status);
        Assert.Equal(status, r.ErrorStatus);
        Assert.False(string.IsNullOrEmpty(r.Reason));
    }

    [Fact]
    public void An_endless_header_section_is_refused_at_the_limit()
    {
        var r = Parse("GET / HTTP/1.1\r\nX: " + new string('a', 400));
        Assert.Equal(ParseStatus.Invalid, r.Status);
        Assert.Equal(431, r.ErrorStatus);
    }

    [Fact]
    public void Connection_semantics_follow_the_version()
    {
        Assert.False(Parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").KeepAlive);
        Assert.False(Parse("GET / HTTP/1.0\r\n\r\n").KeepAlive);
        Assert.True(Parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").KeepAlive);
    }
}
