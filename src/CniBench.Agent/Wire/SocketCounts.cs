using System.Net.Sockets;

namespace CniBench.Agent.Wire;

/// <summary>Blocking sends and receives of a byte count through a smaller buffer: both ends of a request/response
/// connection, on a socket or (for TLS) on a stream.</summary>
public static class SocketCounts
{
    /// <summary>Reads exactly count bytes (discarding them through buffer); false on a clean end of stream.</summary>
    public static bool ReceiveExactly(Socket socket, byte[] buffer, int count)
    {
        while (count > 0)
        {
            int n = RawSockets.Receive(socket, buffer.AsSpan(0, Math.Min(count, buffer.Length)));
            if (n == 0)
                return false;
            count -= n;
        }
        return true;
    }

    public static void SendCount(Socket socket, byte[] buffer, int count)
    {
        while (count > 0)
            count -= socket.Send(buffer, 0, Math.Min(count, buffer.Length), SocketFlags.None);
    }

    /// <summary>Reads exactly count bytes (discarding them through buffer); false on a clean end of stream.</summary>
    public static bool ReceiveExactly(Stream stream, byte[] buffer, int count)
    {
        while (count > 0)
        {
            int n = stream.Read(buffer, 0, Math.Min(count, buffer.Length));
            if (n == 0)
                return false;
            count -= n;
        }
        return true;
    }

    public static void SendCount(Stream stream, byte[] buffer, int count)
    {
        for (int left = count; left > 0; left -= Math.Min(left, buffer.Length))
            stream.Write(buffer, 0, Math.Min(left, buffer.Length));
    }
}
