using System.Reflection;
using System.Reflection.Emit;
using System.Text.RegularExpressions;

namespace CniBench.Tests.Architecture;

/// <summary>
/// Which folder uses which, at one level of a project's tree: the parts are the folder's own files (".") and each of
/// its subfolders with everything below it. Read from the compiled assembly — every type a type names in its
/// signatures, its locals and the instructions of its method bodies, where the compiler has resolved every name —
/// and from the sources, for what the compiler copies away (constants).
/// </summary>
public static class FolderDependencies
{
    private const BindingFlags Everything =
        BindingFlags.Public
        | BindingFlags.NonPublic
        | BindingFlags.Instance
        | BindingFlags.Static
        | BindingFlags.DeclaredOnly;

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>Part → part it uses → one example (user type → used type), for the message; the parts of the
    /// namespace <paramref name="level"/>.</summary>
    public static Dictionary<string, Dictionary<string, string>> Of(Assembly assembly, string level)
    {
        var uses = new Dictionary<string, Dictionary<string, string>>();
        foreach (var type in assembly.GetTypes())
        {
            if (PartOf(type.Namespace, level) is not { } from)
                continue;
            var edges = uses.TryGetValue(from, out var e) ? e : uses[from] = new();
            foreach (var used in Used(type))
                if (PartOf(used.Namespace, level) is { } to && to != from)
                    edges.TryAdd(to, $"{type.FullName} → {used.FullName}");
        }
        return uses;
    }

    /// <summary>The namespaces of a project that have folders below them, the project's own first.</summary>
    public static IEnumerable<string> Levels(string projectDirectory, string rootNamespace) =>
        Directory
            .EnumerateDirectories(projectDirectory, "*", SearchOption.AllDirectories)
            .Select(d => Path.GetRelativePath(projectDirectory, d))
            .Where(d =>
                !IsBuildOutput(d)
                && Directory
                    .EnumerateFiles(Path.Combine(projectDirectory, d), "*.cs", SearchOption.AllDirectories)
                    .Any()
            )
            .Select(d => Path.GetDirectoryName(d) ?? "")
            .Distinct()
            .Order(StringComparer.Ordinal)
            .Select(d => d.Length == 0 ? rootNamespace : $"{rootNamespace}.{d.Replace('/', '.')}");

    /// <summary>
    /// Adds what the sources name by namespace: fully (`using`, `Root.Level.Part.Type`) or partly, as a sibling may
    /// (`Part.Type` where Type is declared under Part). A constant is copied into the instructions that use it, so
    /// only the text shows where it came from.
    /// </summary>
    public static void AddNamedInSource(
        Dictionary<string, Dictionary<string, string>> uses,
        string projectDirectory,
        string rootNamespace,
        string level
    )
    {
        string levelDirectory = Path.Combine(
            projectDirectory,
            level == rootNamespace ? "" : level[(rootNamespace.Length + 1)..].Replace('.', '/')
        );
        var parts = Directory
            .GetDirectories(levelDirectory)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(f => !IsBuildOutput(f))
            .ToDictionary(f => f, f => TypesDeclaredUnder(Path.Combine(levelDirectory, f)));
        var fullyNamed = new Regex($@"\b{Regex.Escape(level)}\.(\w+)\b");
        var partlyNamed = new Regex(@"(?<![\w.])(\w+)\.(\w+)\b");
        foreach (var file in SourcesUnder(levelDirectory))
        {
            var relative = Path.GetRelativePath(levelDirectory, file);
            string from = relative.Contains('/') ? relative.Split('/')[0] : ".";
            var text = File.ReadAllText(file);
            var named = fullyNamed
                .Matches(text)
                .Select(m => m.Groups[1].Value)
                .Concat(
                    partlyNamed
                        .Matches(text)
                        .Where(m =>
                            parts.TryGetValue(m.Groups[1].Value, out var types) && types.Contains(m.Groups[2].Value)
                        )
                        .Select(m => m.Groups[1].Value)
                );
            foreach (var to in named.Where(to => to != from && parts.ContainsKey(to)))
            {
                var edges = uses.TryGetValue(from, out var e) ? e : uses[from] = new();
                edges.TryAdd(to, $"{Path.GetRelativePath(projectDirectory, file)} names {to}");
            }
        }
    }

    private static bool IsBuildOutput(string relativeDirectory) => relativeDirectory.Split('/')[0] is "bin" or "obj";

    private static IEnumerable<string> SourcesUnder(string directory) =>
        Directory
            .EnumerateFiles(directory, "*.cs", SearchOption.AllDirectories)
            .Where(f => !IsBuildOutput(Path.GetRelativePath(directory, f)));

    private static HashSet<string> TypesDeclaredUnder(string directory)
    {
        var declaration = new Regex(@"\b(?:class|record|struct|enum|interface)\s+(\w+)");
        return SourcesUnder(directory)
            .SelectMany(f => declaration.Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The folders in each strongly connected component of more than one (Tarjan).</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Cycles(Dictionary<string, Dictionary<string, string>> uses)
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var cycles = new List<IReadOnlyList<string>>();
        void Visit(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            foreach (var w in uses.GetValueOrDefault(v)?.Keys ?? Enumerable.Empty<string>())
            {
                if (!index.TryGetValue(w, out int seen))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (stack.Contains(w))
                    low[v] = Math.Min(low[v], seen);
            }
            if (low[v] != index[v])
                return;
            var component = new List<string>();
            string x;
            do
            {
                x = stack.Pop();
                component.Add(x);
            } while (x != v);
            if (component.Count > 1)
                cycles.Add(component.Order(StringComparer.Ordinal).ToArray());
        }
        foreach (var v in uses.Keys.Order(StringComparer.Ordinal))
            if (!index.ContainsKey(v))
                Visit(v);
        return cycles;
    }

    /// <summary>"." for the level's own namespace, the subfolder for one below it, null outside.</summary>
    private static string? PartOf(string? ns, string level)
    {
        if (ns == level)
            return ".";
        if (ns is null || !ns.StartsWith(level + ".", StringComparison.Ordinal))
            return null;
        return ns[(level.Length + 1)..].Split('.')[0];
    }

    private static IEnumerable<Type> Used(Type type)
    {
        var found = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t is null || !found.Add(t))
                return;
            if (t.HasElementType)
                Add(t.GetElementType());
            if (t.IsGenericType && !t.IsGenericTypeDefinition)
            {
                Add(t.GetGenericTypeDefinition());
                foreach (var a in t.GetGenericArguments())
                    Add(a);
            }
        }
        // Attributes are metadata, not instructions: their types and typeof() arguments (a JSON converter) count too.
        void AddAttributes(MemberInfo member)
        {
            foreach (var a in member.GetCustomAttributesData())
            {
                Add(a.AttributeType);
                foreach (var argument in a.ConstructorArguments.Concat(a.NamedArguments.Select(n => n.TypedValue)))
                    if (argument.Value is Type t)
                        Add(t);
            }
        }
        Add(type.BaseType);
        AddAttributes(type);
        foreach (var i in type.GetInterfaces())
            Add(i);
        foreach (var f in type.GetFields(Everything))
        {
            Add(f.FieldType);
            AddAttributes(f);
        }
        foreach (var p in type.GetProperties(Everything))
        {
            Add(p.PropertyType);
            AddAttributes(p);
        }
        foreach (var m in type.GetMethods(Everything).Cast<MethodBase>().Concat(type.GetConstructors(Everything)))
        {
            AddAttributes(m);
            if (m is MethodInfo mi)
                Add(mi.ReturnType);
            foreach (var p in m.GetParameters())
                Add(p.ParameterType);
            var body = m.GetMethodBody();
            if (body is null)
                continue;
            foreach (var local in body.LocalVariables)
                Add(local.LocalType);
            foreach (var member in Tokens(m, body.GetILAsByteArray() ?? []))
                Add(member as Type ?? member.DeclaringType);
        }
        return found;
    }

    /// <summary>The members and types the instructions of a method body name.</summary>
    private static IEnumerable<MemberInfo> Tokens(MethodBase method, byte[] il)
    {
        var typeArguments = method.DeclaringType is { IsGenericType: true } t ? t.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (int i = 0; i < il.Length; )
        {
            short value = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
            i += il[i] == 0xFE ? 2 : 1;
            var code = OpCodesByValue[value];
            int size = code.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
            if (
                code.OperandType
                is OperandType.InlineMethod
                    or OperandType.InlineField
                    or OperandType.InlineType
                    or OperandType.InlineTok
            )
            {
                MemberInfo? member = null;
                try
                {
                    member = method.Module.ResolveMember(BitConverter.ToInt32(il, i), typeArguments, methodArguments);
                }
                catch (ArgumentException) { }
                if (member is not null)
                    yield return member;
            }
            i += size;
        }
    }
}
