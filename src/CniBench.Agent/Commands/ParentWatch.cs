namespace CniBench.Agent.Commands;

/// <summary>`--parent-pid`: a process a controller starts ends when the controller does, however it
/// ends.</summary>
public static class ParentWatch
{
    public const string Flag = "--parent-pid";

    /// <summary>Cancels <paramref name="stop"/> once process <paramref name="pid"/> is gone.</summary>
    public static async Task WatchAsync(int pid, CancellationTokenSource stop, Action<string>? gone = null)
    {
        while (!stop.IsCancellationRequested)
        {
            if (!Directory.Exists($"/proc/{pid}"))
            {
                gone?.Invoke($"parent process {pid} is gone; stopping");
                await stop.CancelAsync();
                return;
            }
            try
            {
                await Task.Delay(500, stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
