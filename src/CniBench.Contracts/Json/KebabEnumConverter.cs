using System.Text.Json;
using System.Text.Json.Serialization;

namespace CniBench.Contracts.Json;

/// <summary>Enums travel as the kebab-case names users type (tcp-rr, measured, open).</summary>
public sealed class KebabEnumConverter<T>()
    : JsonStringEnumConverter<T>(JsonNamingPolicy.KebabCaseLower, allowIntegerValues: false)
    where T : struct, Enum;
