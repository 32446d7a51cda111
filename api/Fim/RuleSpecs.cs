using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Platform.Api.Fim;

/// <summary>
/// The canonical form of a rule: sets sorted, empty collections and blank text dropped, so that the same
/// rule written differently (another order of operations, an empty exclusions block) is the same rule:
/// re-applying it creates no version and writes no audit entry.
/// </summary>
public static class RuleSpecs
{
    /// <summary>
    /// Complete and read-only from the start: metadata may be asked of it (GetTypeInfo) before anything was
    /// serialised with it. Without a resolver that failed in a type initializer, which failed the feature (FIM
    /// alert pushes) for the life of the process.
    /// </summary>
    public static readonly JsonSerializerOptions Json = ReadOnly(new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(namingPolicy: null, allowIntegerValues: false) },
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    });

    private static JsonSerializerOptions ReadOnly(JsonSerializerOptions options)
    {
        options.MakeReadOnly();
        return options;
    }

    public static FimRuleSpec Canonical(FimRuleSpec spec)
    {
        var hostnames = Sorted(spec.Scope?.Hostnames);
        var labels = spec.Scope?.Labels is { Count: > 0 } l ? new SortedDictionary<string, string>(l, StringComparer.Ordinal) : null;
        var excludedProcesses = Sorted(spec.Exclusions?.Processes);
        var excludedPaths = Sorted(spec.Exclusions?.Paths);
        return new FimRuleSpec
        {
            Name = spec.Name,
            Description = string.IsNullOrWhiteSpace(spec.Description) ? null : spec.Description.Trim(),
            Enabled = spec.Enabled ?? true,
            Severity = spec.Severity,
            Scope = new FimScope { Hostnames = hostnames!, Labels = labels! },
            Paths = spec.Paths
                .GroupBy(p => p.Path, StringComparer.Ordinal)
                .Select(g => new FimPath { Path = g.Key, Recursive = g.Any(p => p.Recursive == true) })
                .OrderBy(p => p.Path, StringComparer.Ordinal)
                .ToList(),
            Operations = spec.Operations.Distinct().Order().ToList(),
            Effect = spec.Effect,
            Exclusions = excludedProcesses is null && excludedPaths is null ? null : new FimExclusions { Processes = excludedProcesses!, Paths = excludedPaths! },
            AllowAppend = spec.AllowAppend ?? false,
            ComplianceTags = Sorted(spec.ComplianceTags)!,
        };
    }

    public static string ToJson(FimRuleSpec canonical) => JsonSerializer.Serialize(canonical, Json);

    public static FimRuleSpec FromJson(string json) => JsonSerializer.Deserialize<FimRuleSpec>(json, Json)!;

    /// <summary>The top-level fields that differ, with their JSON values (absent when unset).</summary>
    public static List<FieldChange> Diff(string? beforeJson, string? afterJson)
    {
        var before = beforeJson is null ? new JsonObject() : JsonNode.Parse(beforeJson)!.AsObject();
        var after = afterJson is null ? new JsonObject() : JsonNode.Parse(afterJson)!.AsObject();
        return before.Select(p => p.Key).Union(after.Select(p => p.Key))
            .Where(field => !JsonNode.DeepEquals(before[field], after[field]))
            .Order(StringComparer.Ordinal)
            .Select(field => new FieldChange { Field = field, Before = Value(before[field]), After = Value(after[field]) })
            .ToList();
    }

    /// <summary>The API representation of a stored rule.</summary>
    public static FimRule ToContract(FimRuleRow row) => ToContract(row, FromJson(row.SpecJson));

    /// <summary>The API representation of a stored rule whose spec is already read.</summary>
    public static FimRule ToContract(FimRuleRow row, FimRuleSpec spec)
    {
        return new FimRule
        {
            Id = row.RuleId,
            Name = spec.Name,
            Description = spec.Description,
            Enabled = spec.Enabled ?? true,
            Severity = spec.Severity,
            Scope = spec.Scope ?? new FimScope(),
            Paths = spec.Paths,
            Operations = spec.Operations,
            Effect = spec.Effect,
            Exclusions = spec.Exclusions,
            AllowAppend = spec.AllowAppend ?? false,
            ComplianceTags = spec.ComplianceTags ?? [],
            Version = row.Version,
            CreatedAt = row.CreatedAt,
            CreatedBy = row.CreatedBy,
            UpdatedAt = row.UpdatedAt,
            UpdatedBy = row.UpdatedBy,
        };
    }

    private static List<string>? Sorted(IEnumerable<string>? values)
    {
        var list = values?.Where(v => !string.IsNullOrEmpty(v)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return list is { Count: > 0 } ? list : null;
    }

    private static JsonElement? Value(JsonNode? node) => node is null ? null : JsonSerializer.SerializeToElement(node);
}
