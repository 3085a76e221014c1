using System.Text;

namespace CniBench.Agent.Http;

/// <summary>
/// The strings one connection's requests repeat (method, path, query, header names and values), each made once:
/// a keep-alive client that sends the same request again and again costs no string per request. Bounded in entries
/// and length, so a client sending ever new values only stops being cached, and a lookup is a few comparisons.
/// Used by one request at a time, as a connection's requests are parsed one after another.
/// </summary>
public sealed class RepeatedStrings
{
    private const int Capacity = 32,
        MaxLength = 256;
    private readonly (byte[] Bytes, string Text)[] _entries = new (byte[], string)[Capacity];
    private int _count;

    public string Get(ReadOnlySpan<byte> ascii)
    {
        for (int i = 0; i < _count; i++)
        {
            if (ascii.SequenceEqual(_entries[i].Bytes))
                return _entries[i].Text;
        }
        var text = Encoding.ASCII.GetString(ascii);
        if (_count < Capacity && ascii.Length <= MaxLength)
            _entries[_count++] = (ascii.ToArray(), text);
        return text;
    }
}
