using System.Net.Sockets;

namespace CniBench.Agent.Wire;

/// <summary>Blocking sends and receives of a byte count through a smaller buffer: both ends of a request/response
/// connection.</summary>
public static class SocketCounts
{
    /// <summary>Reads exactly count bytes (discarding them through buffer); false on a clean end of stream.</summary>
    public static bool ReceiveExactly(Socket socket, byte[] buffer, int count)
    {
        while (count > 0)
        {
            int n = socket.Receive(buffer, 0, Math.Min(count, buffer.Length), SocketFlags.None);
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
}
