namespace CniBench.Agent.Workloads;

/// <summary>Runs blocking workers on dedicated threads (like netperf processes) and completes when all have
/// exited.</summary>
public static class WorkerThreads
{
    public static Task Run(int count, string name, Action<int> body)
    {
        var tasks = new Task[count];
        for (int i = 0; i < count; i++)
        {
            int index = i;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            tasks[i] = done.Task;
            new Thread(() =>
            {
                try
                {
                    body(index);
                    done.TrySetResult();
                }
                catch (Exception e)
                {
                    done.TrySetException(e);
                }
            })
            {
                IsBackground = true,
                Name = $"{name}-{index}",
            }.Start();
        }
        return Task.WhenAll(tasks);
    }

    /// <summary>
    /// The loop every blocking worker shares: run the body until stop, count each failure by kind,
    /// back off a little so a refused port does not become a busy loop.
    /// </summary>
    public static void Loop(WorkloadContext context, WorkerStats stats, OperationWatchdog.Slot slot, Action body)
    {
        while (!context.IsStopping)
        {
            try
            {
                body();
            }
            // The stop closes the sockets under blocked calls: a plain one throws SocketException, one under TLS the
            // IOException that SslStream wraps it in ("Software caused connection abort"), which is no error either.
            catch (Exception e)
                when (context.IsStopping
                    && e is System.Net.Sockets.SocketException or ObjectDisposedException or IOException
                )
            {
                return;
            }
            catch (Exception e)
            {
                bool fired = slot.TakeFired();
                stats.RecordError(SocketErrors.Classify(e, fired), SocketErrors.Describe(e), context.Measuring);
                context.Stopping.WaitHandle.WaitOne(10);
            }
            finally
            {
                Volatile.Write(ref slot.Deadline, 0);
            }
        }
    }
}
