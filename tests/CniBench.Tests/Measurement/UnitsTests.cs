using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Measurement;

[Trait(Category.Name, Category.Unit)]
public class UnitsTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("5s", 5000)]
    [InlineData("1.5s", 1500)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    public void Durations_parse(string text, double ms)
    {
        Assert.True(Units.TryParseDuration(text, out var d));
        Assert.Equal(ms, d.TotalMilliseconds);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("abc")]
    [InlineData("s")]
    [InlineData("")]
    [InlineData("5 parsecs")]
    public void Bad_durations_are_refused(string text) => Assert.False(Units.TryParseDuration(text, out _));

    [Theory]
    [InlineData("1", 1)]
    [InlineData("64KiB", 65536)]
    [InlineData("1MiB", 1048576)]
    [InlineData("1K", 1000)]
    [InlineData("128kib", 131072)]
    public void Sizes_parse(string text, long bytes)
    {
        Assert.True(Units.TryParseSize(text, out long v));
        Assert.Equal(bytes, v);
    }

    [Theory]
    [InlineData("100Mbit", 100_000_000)]
    [InlineData("2.5G", 2_500_000_000)]
    [InlineData("0", 0)]
    public void Bitrates_parse(string text, long bits)
    {
        Assert.True(Units.TryParseBitrate(text, out long v));
        Assert.Equal(bits, v);
    }

    [Fact]
    public void Addresses_parse_v4_v6_and_localhost_only()
    {
        Assert.True(Endpoints.TryParse("127.0.0.1:80", out var v4));
        Assert.Equal(80, v4!.Port);
        Assert.True(Endpoints.TryParse("[::1]:7201", out var v6));
        Assert.Equal("[::1]:7201", Endpoints.Format(v6!));
        Assert.True(Endpoints.TryParse("localhost:9", out _));
        Assert.False(Endpoints.TryParse("example.com:80", out _));
        Assert.False(Endpoints.TryParse("127.0.0.1", out _));
        Assert.False(Endpoints.TryParse("127.0.0.1:0", out _));
    }
}
