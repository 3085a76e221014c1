using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;
using Polly;
using Polly.Retry;

namespace CniBench.Cli.Targets.Kube.Api;

/// <summary>
/// How the client treats a busy or flaky API server, as client-go does: at most <see cref="Qps"/> requests a second
/// (bursts of <see cref="Burst"/>), so creating thousands of Services does not trip the server's own limits; a 429
/// (or a 503/504 that says Retry-After) is retried after the wait the server asks for, for any verb, since the server
/// did not act on it; other 5xx answers, dropped connections and timeouts are retried with backoff for GET and DELETE
/// only, which may safely be repeated.
/// </summary>
public sealed record RetryPolicy(
    int MaxRetries = 5,
    double Qps = 50,
    int Burst = 100,
    TimeSpan? BaseDelay = null,
    TimeSpan? MaxDelay = null
)
{
    /// <summary>Set per call: whether the request may be sent again after an error the server may have acted
    /// on.</summary>
    public static readonly ResiliencePropertyKey<bool> Idempotent = new("cnibench.idempotent");

    public ResiliencePipeline<HttpResponseMessage> Build()
    {
        var maxDelay = MaxDelay ?? TimeSpan.FromSeconds(10);
        return new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(
                new RetryStrategyOptions<HttpResponseMessage>
                {
                    MaxRetryAttempts = MaxRetries,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = BaseDelay ?? TimeSpan.FromMilliseconds(200),
                    MaxDelay = maxDelay,
                    ShouldHandle = args =>
                        ValueTask.FromResult(
                            ShouldRetry(args.Outcome, args.Context.Properties.GetValue(Idempotent, false))
                        ),
                    DelayGenerator = args =>
                        ValueTask.FromResult(
                            args.Outcome.Result is { } response && RetryAfter(response) is { } wait
                                ? (TimeSpan?)(wait < maxDelay ? wait : maxDelay)
                                : null
                        ),
                    OnRetry = args =>
                    {
                        args.Outcome.Result?.Dispose();
                        return ValueTask.CompletedTask;
                    },
                }
            )
            .Build();
    }

    public TokenBucketRateLimiter Limiter() =>
        new(
            new TokenBucketRateLimiterOptions
            {
                TokenLimit = Burst,
                TokensPerPeriod = Math.Max(1, (int)Math.Round(Qps / 10)),
                ReplenishmentPeriod = TimeSpan.FromMilliseconds(100),
                QueueLimit = int.MaxValue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                AutoReplenishment = true,
            }
        );

    private static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, bool idempotent)
    {
        if (outcome.Exception is KubeConnectionException)
            return idempotent;
        if (outcome.Result is not { } response)
            return false;
        var status = (int)response.StatusCode;
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
            return true;
        if (status is 503 or 504 && RetryAfter(response) is not null)
            return true;
        return idempotent && status is 500 or 502 or 503 or 504;
    }

    /// <summary>The server's Retry-After, in seconds or as a date.</summary>
    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
            return delta;
        if (header?.Date is { } date)
            return date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        // Some servers send a bare number the typed header did not take.
        return
            response.Headers.TryGetValues("Retry-After", out var values)
            && int.TryParse(
                values.FirstOrDefault(),
                NumberStyles.Integer,
                CultureInfo.InvariantCulture,
                out var seconds
            )
            ? TimeSpan.FromSeconds(seconds)
            : null;
    }
}
