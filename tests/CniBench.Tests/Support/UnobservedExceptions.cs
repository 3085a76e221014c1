using System.Runtime.CompilerServices;

namespace CniBench.Tests.Support;

/// <summary>
/// A task that faulted with nobody awaiting it is reported by the test framework as a bare "[FATAL ERROR]
/// SomeException" that fails the run without saying where. This prints the whole exception, so the next
/// occurrence names its source (it does not hide it: the framework still reports it).
/// </summary>
internal static class UnobservedExceptions
{
    [ModuleInitializer]
    internal static void Watch() =>
        TaskScheduler.UnobservedTaskException += (_, e) =>
            Console.Error.WriteLine($"cnibench tests: a task faulted unobserved: {e.Exception}");
}
