using System.Reflection;
using CniBench.Tests.Support;

namespace CniBench.Tests.Architecture;

/// <summary>The README's two filters (`Category=Unit`, `Category=Integration`) together run every test: a test
/// with neither would be run by no filter.</summary>
[Trait(Category.Name, Category.Unit)]
public class CategoryTests
{
    [Fact]
    public void Every_test_is_unit_or_integration()
    {
        static string? CategoryOf(MemberInfo member) =>
            member
                .GetCustomAttributes<TraitAttribute>()
                .Where(t => t.Name == Category.Name)
                .Select(t => t.Value)
                .FirstOrDefault();
        var missing = typeof(CategoryTests)
            .Assembly.GetTypes()
            .SelectMany(type =>
                type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
                    .Where(m => m.GetCustomAttribute<FactAttribute>() is not null)
                    .Where(m => (CategoryOf(m) ?? CategoryOf(type)) is not (Category.Unit or Category.Integration))
                    .Select(m => $"{type.Name}.{m.Name}")
            )
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.True(missing.Length == 0, string.Join("\n", missing));
    }
}
