namespace CniBench.Tests.Support;

/// <summary>
/// Waits on another process or thread by polling what the test will assert, up to a deadline: a fixed sleep before
/// an assertion is too short on a busy host and too long on a quiet one.
/// </summary>
public static class Eventually
{
    /// <summary>Whether <paramref name="condition"/> held within <paramref name="within"/> (checked every 50
    /// ms, and once more at the deadline).</summary>
    public static async Task<bool> HoldsAsync(Func<bool> condition, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (!condition())
        {
            if (DateTime.UtcNow >= deadline)
                return condition();
            await Task.Delay(50);
        }
        return true;
    }
}
