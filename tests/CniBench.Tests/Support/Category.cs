namespace CniBench.Tests.Support;

/// <summary>
/// Test categories, as traits: `dotnet test --filter Category=Unit` runs the fast in-memory tests in
/// seconds; `Category=Integration` the ones with real processes, sockets, namespaces, databases or a browser.
/// </summary>
public static class Category
{
    public const string Name = "Category";
    public const string Unit = "Unit";
    public const string Integration = "Integration";
}
