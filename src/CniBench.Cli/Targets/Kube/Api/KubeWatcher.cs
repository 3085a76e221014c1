using System.Text.Json.Nodes;

namespace CniBench.Cli.Targets.Kube.Api;

/// <summary>
/// Keeps a watch going for as long as asked, as informers do: list, then watch from the list's
/// resourceVersion; when a stream ends (server timeout) or goes silent, resume from the last
/// resourceVersion seen (bookmarks advance it); when the server no longer has that version (410 Gone),
/// list again and say so; when the server cannot be reached, retry a few times with a pause.
/// </summary>
public sealed class KubeWatcher(KubeClient client, KubeResource collection, string? labelSelector)
{
    public TimeSpan ServerTimeout { get; init; } = TimeSpan.FromMinutes(5);
    public TimeSpan Silence { get; init; } = TimeSpan.FromSeconds(90);
    public TimeSpan RetryPause { get; init; } = TimeSpan.FromSeconds(1);
    public int MaxConsecutiveFailures { get; init; } = 5;

    /// <summary>Runs until cancelled: <paramref name="onList"/> with every (re)list, <paramref name="onEvent"/> with
    /// every change.</summary>
    public async Task RunAsync(
        Func<IReadOnlyList<JsonObject>, Task> onList,
        Func<WatchEvent, Task> onEvent,
        CancellationToken cancellationToken
    )
    {
        var (items, resourceVersion) = await client.ListAsync(collection, labelSelector, cancellationToken);
        await onList(items);
        int failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var started = DateTimeOffset.UtcNow;
            bool any = false;
            try
            {
                await foreach (
                    var e in client.WatchAsync(
                        collection,
                        resourceVersion,
                        labelSelector,
                        ServerTimeout,
                        Silence,
                        cancellationToken
                    )
                )
                {
                    failures = 0;
                    any = true;
                    if (e.ResourceVersion is { } v)
                        resourceVersion = v;
                    if (e.Type != "BOOKMARK")
                        await onEvent(e);
                }
                // A stream that ends at once with nothing in it (a proxy cutting watches short) must not become a busy
                // loop.
                if (!any && DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(1))
                    await Task.Delay(RetryPause, cancellationToken);
            }
            catch (WatchExpiredException)
            {
                (items, resourceVersion) = await client.ListAsync(collection, labelSelector, cancellationToken);
                await onList(items);
            }
            catch (KubeConnectionException) when (++failures < MaxConsecutiveFailures)
            {
                await Task.Delay(RetryPause, cancellationToken);
            }
        }
    }
}
