using System.Reflection;
using System.Reflection.Emit;

namespace CniBench.Tests.Architecture;

/// <summary>
/// Which top-level folder (namespace under the assembly's root) uses which, read from the compiled assembly: every
/// type a type names in its signatures, its locals, and the instructions of its method bodies. The compiler has
/// resolved every name by then, so a partly qualified one (`Running.JobTracker` from a sibling namespace) counts
/// too, which a text search for using directives misses.
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

    /// <summary>Folder → folder it uses → one example (user type → used type), for the message.</summary>
    public static Dictionary<string, Dictionary<string, string>> Of(Assembly assembly, string rootNamespace)
    {
        var uses = new Dictionary<string, Dictionary<string, string>>();
        foreach (var type in assembly.GetTypes())
        {
            if (FolderOf(type, rootNamespace) is not { } from)
                continue;
            var edges = uses.TryGetValue(from, out var e) ? e : uses[from] = new();
            foreach (var used in Used(type))
                if (FolderOf(used, rootNamespace) is { } to && to != from)
                    edges.TryAdd(to, $"{type.FullName} → {used.FullName}");
        }
        return uses;
    }

    /// <summary>
    /// Adds what the sources of a project name by namespace (using directives, qualified names): a constant is copied
    /// into the instructions that use it, so only the text shows where it came from.
    /// </summary>
    public static void AddNamedInSource(
        Dictionary<string, Dictionary<string, string>> uses,
        string projectDirectory,
        string rootNamespace
    )
    {
        var named = new System.Text.RegularExpressions.Regex(
            $@"\b{System.Text.RegularExpressions.Regex.Escape(rootNamespace)}\.(\w+)\b"
        );
        foreach (
            var folder in Directory
                .GetDirectories(projectDirectory)
                .Select(Path.GetFileName)
                .OfType<string>()
                .Where(f => f is not ("bin" or "obj"))
        )
        {
            foreach (
                var file in Directory.EnumerateFiles(
                    Path.Combine(projectDirectory, folder),
                    "*.cs",
                    SearchOption.AllDirectories
                )
            )
            {
                foreach (
                    var to in named
                        .Matches(File.ReadAllText(file))
                        .Select(m => m.Groups[1].Value)
                        .Where(to => to != folder && Directory.Exists(Path.Combine(projectDirectory, to)))
                )
                {
                    var edges = uses.TryGetValue(folder, out var e) ? e : uses[folder] = new();
                    edges.TryAdd(to, $"{Path.GetRelativePath(projectDirectory, file)} names {rootNamespace}.{to}");
                }
            }
        }
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

    private static string? FolderOf(Type type, string root)
    {
        var ns = type.Namespace;
        if (ns is null || !ns.StartsWith(root + ".", StringComparison.Ordinal))
            return null;
        return ns[(root.Length + 1)..].Split('.')[0];
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
