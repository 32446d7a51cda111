using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Ocsf;

/// <summary>
/// OCSF 1.7.0 compiled from its schema source (tests/Ocsf/ocsf-schema-1.7.0, Apache-2.0, as the OCSF project publishes
/// it), and a validator of events against the class they claim. Written here, not taken from the api, so that the
/// api's mapping is checked by an independent reading of the schema.
/// <para>
/// Compiling follows the schema's own rules: a class or object takes its parent's attributes (<c>extends</c>), those
/// of the profiles it includes (<c>$include</c>; they stay the profile's unless the file says <c>"profile": null</c>),
/// then its own; each attribute's definition is the dictionary's with the class's or object's fields over it (an
/// enum is the union of both). A class's <c>class_uid</c> is its category's uid times 1000 plus its own.
/// </para>
/// <para>
/// An event is checked for: a known class, <c>category_uid</c> and <c>type_uid</c> (class_uid * 100 + activity_id)
/// consistent with it, <c>metadata.version</c> 1.7.0; every attribute known to its class or object (no other);
/// required attributes present (those of a profile only when <c>metadata.profiles</c> names it, and a profile's
/// attribute used only then); types (integers, longs, floats, booleans, strings, the dictionary types' patterns,
/// lengths and ranges, objects recursively, arrays where the attribute is one); enum values among the schema's and
/// their captions in the sibling attributes (activity_name, severity, status...) unless the value is Other (99); the
/// objects' <c>at_least_one</c> and <c>just_one</c> constraints.
/// </para>
/// </summary>
public sealed class OcsfSchema
{
    private static readonly Lazy<OcsfSchema> Loaded = new(() => new OcsfSchema(Path.Combine(Repository.Root, "tests", "Ocsf", "ocsf-schema-1.7.0")));

    private readonly JsonObject _dictionary;
    private readonly JsonObject _types;
    private readonly Dictionary<string, int> _categories = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _categoryCaptions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonObject> _objectFiles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonObject> _classFiles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Compiled> _objects = new(StringComparer.Ordinal);
    private readonly Dictionary<int, Compiled> _classes = [];
    private readonly string _root;

    public static OcsfSchema Instance => Loaded.Value;

    public string Version { get; }

    private OcsfSchema(string root)
    {
        _root = root;
        Version = Read("version.json")["version"]!.GetValue<string>();
        var dictionary = Read("dictionary.json");
        _dictionary = dictionary["attributes"]!.AsObject();
        _types = dictionary["types"]!["attributes"]!.AsObject();
        foreach (var (name, category) in Read("categories.json")["attributes"]!.AsObject())
        {
            _categories[name] = category!["uid"]!.GetValue<int>();
            _categoryCaptions[name] = category["caption"]!.GetValue<string>();
        }
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "objects"), "*.json"))
        {
            var node = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
            _objectFiles[node["name"]!.GetValue<string>()] = node;
        }
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "events"), "*.json", SearchOption.AllDirectories))
        {
            var node = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
            _classFiles[node["name"]!.GetValue<string>()] = node;
        }
        foreach (var (name, file) in _classFiles)
        {
            if (file["uid"] is null)
                continue; // a category's generic parent (system, network, finding): not a class events claim
            var category = file["category"]?.GetValue<string>() ?? Inherited(file, "category");
            var categoryUid = category is null ? 0 : _categories.GetValueOrDefault(category);
            var compiled = Compile(file, _classFiles) with { CategoryUid = categoryUid };
            var classUid = categoryUid * 1000 + file["uid"]!.GetValue<int>();
            // The schema's class_uid and category_uid enums are generic; a class allows its own uid and category only.
            compiled.Attributes["class_uid"]["enum"] = new JsonObject { [classUid.ToString(CultureInfo.InvariantCulture)] = new JsonObject { ["caption"] = compiled.Caption } };
            compiled.Attributes["category_uid"]["enum"] = new JsonObject
            {
                [categoryUid.ToString(CultureInfo.InvariantCulture)] = new JsonObject { ["caption"] = category is null ? "Uncategorized" : _categoryCaptions.GetValueOrDefault(category, "Uncategorized") },
            };
            _classes[classUid] = compiled with { Uid = classUid };
        }
    }

    /// <summary>A class as compiled: its attributes with their definitions, and its constraints.</summary>
    private sealed record Compiled(string Name, string Caption, IReadOnlyDictionary<string, JsonObject> Attributes, JsonObject? Constraints, int Uid = 0, int CategoryUid = 0);

    public bool HasClass(int classUid) => _classes.ContainsKey(classUid);

    public string ClassName(int classUid) => _classes[classUid].Caption;

    /// <summary>What is wrong with the event, one line each with the attribute's path; empty when it is valid.</summary>
    public IReadOnlyList<string> Validate(JsonElement evt)
    {
        var problems = new List<string>();
        var node = JsonNode.Parse(evt.GetRawText())!;
        if (node is not JsonObject root)
            return ["the event is not a JSON object"];
        if (root["class_uid"]?.GetValueKind() != JsonValueKind.Number || !_classes.TryGetValue(root["class_uid"]!.GetValue<int>(), out var cls))
            return [$"class_uid {root["class_uid"]?.ToJsonString() ?? "(missing)"} is no class of OCSF {Version}"];

        if (root["category_uid"] is JsonValue category && category.GetValueKind() == JsonValueKind.Number && category.GetValue<int>() != cls.CategoryUid)
            problems.Add($"category_uid: {category} but {cls.Caption} ({cls.Uid}) is in category {cls.CategoryUid}");
        if (root["activity_id"] is JsonValue activity && activity.GetValueKind() == JsonValueKind.Number
            && root["type_uid"] is JsonValue type && type.GetValueKind() == JsonValueKind.Number
            && type.GetValue<long>() != cls.Uid * 100L + activity.GetValue<long>())
            problems.Add($"type_uid: {type} but class_uid * 100 + activity_id is {cls.Uid * 100L + activity.GetValue<long>()}");
        if (root["metadata"]?["version"] is JsonValue version && version.GetValueKind() == JsonValueKind.String && version.GetValue<string>() != Version)
            problems.Add($"metadata.version: \"{version}\", where this schema is {Version}");

        var profiles = root["metadata"]?["profiles"] is JsonArray declared
            ? declared.Where(p => p?.GetValueKind() == JsonValueKind.String).Select(p => p!.GetValue<string>()).ToHashSet(StringComparer.Ordinal)
            : [];
        CheckObject(root, cls, "", profiles, problems);
        return problems;
    }

    private void CheckObject(JsonObject value, Compiled type, string path, HashSet<string> profiles, List<string> problems)
    {
        foreach (var (name, definition) in type.Attributes)
        {
            var requirement = definition["requirement"]?.GetValue<string>();
            var profile = definition["profile"]?.GetValue<string>();
            if (requirement == "required" && (profile is null || profiles.Contains(profile)) && value[name] is null)
                problems.Add($"{path}{name}: required by {type.Caption}, missing");
        }

        foreach (var (name, child) in value)
        {
            var at = path + name;
            if (!type.Attributes.TryGetValue(name, out var definition))
            {
                problems.Add($"{at}: no attribute of {type.Caption}");
                continue;
            }
            if (definition["profile"]?.GetValue<string>() is { } profile && !profiles.Contains(profile))
                problems.Add($"{at}: an attribute of the '{profile}' profile, which metadata.profiles does not name");
            if (child is null)
            {
                problems.Add($"{at}: null (leave an attribute out instead)");
                continue;
            }
            if (definition["is_array"]?.GetValue<bool>() == true)
            {
                if (child is not JsonArray items)
                {
                    problems.Add($"{at}: an array of {definition["type"]}, got {child.GetValueKind()}");
                    continue;
                }
                for (var i = 0; i < items.Count; i++)
                    CheckValue(items[i], definition, value, $"{at}[{i}]", profiles, problems);
            }
            else
            {
                CheckValue(child, definition, value, at, profiles, problems);
            }
        }

        if (type.Constraints?["at_least_one"] is JsonArray atLeastOne && !atLeastOne.Any(a => value[a!.GetValue<string>()] is not null))
            problems.Add($"{(path.Length == 0 ? "(event)" : path.TrimEnd('.'))}: {type.Caption} needs at least one of {string.Join(", ", atLeastOne)}");
        if (type.Constraints?["just_one"] is JsonArray justOne && justOne.Count(a => value[a!.GetValue<string>()] is not null) != 1)
            problems.Add($"{(path.Length == 0 ? "(event)" : path.TrimEnd('.'))}: {type.Caption} needs exactly one of {string.Join(", ", justOne)}");
    }

    private void CheckValue(JsonNode? value, JsonObject definition, JsonObject owner, string at, HashSet<string> profiles, List<string> problems)
    {
        if (value is null)
        {
            problems.Add($"{at}: null");
            return;
        }
        var typeName = definition["type"]!.GetValue<string>();
        if (typeName is "object" or "json_t")
        {
            if (typeName == "object" && value is not JsonObject)
                problems.Add($"{at}: an object, got {value.GetValueKind()}");
            return;
        }
        if (!typeName.EndsWith("_t", StringComparison.Ordinal))
        {
            if (value is not JsonObject child)
            {
                problems.Add($"{at}: a {typeName} object, got {value.GetValueKind()}");
                return;
            }
            CheckObject(child, Object(typeName), at + ".", profiles, problems);
            return;
        }

        if (!CheckPrimitive(value, typeName, at, problems))
            return;
        if (definition["enum"] is JsonObject values)
        {
            var key = value.GetValueKind() == JsonValueKind.Number ? value.GetValue<long>().ToString(System.Globalization.CultureInfo.InvariantCulture) : value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : "";
            if (!values.ContainsKey(key))
            {
                problems.Add($"{at}: {value.ToJsonString()} is not one of its values ({string.Join(", ", values.Select(v => v.Key))})");
            }
            else if (key != "99" && definition["sibling"]?.GetValue<string>() is { } sibling && owner[sibling] is JsonValue caption
                && caption.GetValueKind() == JsonValueKind.String && caption.GetValue<string>() != values[key]!["caption"]!.GetValue<string>())
            {
                problems.Add($"{at[..(at.LastIndexOf('.') + 1)]}{sibling}: \"{caption}\" but {at} {key} is \"{values[key]!["caption"]}\"");
            }
        }
    }

    /// <summary>False when the value is not of the type's kind at all (a string for an integer): nothing more is checked.</summary>
    private bool CheckPrimitive(JsonNode value, string typeName, string at, List<string> problems)
    {
        var caption = _types[typeName]?["caption"]?.GetValue<string>() ?? typeName;
        // A dictionary type's constraints, then its base type's, down to one of the primitive types.
        for (var name = typeName; name is not null;)
        {
            var type = _types[name]?.AsObject() ?? throw new InvalidOperationException($"unknown OCSF type {name}");
            switch (name)
            {
                case "string_t" when value.GetValueKind() != JsonValueKind.String:
                case "integer_t" or "long_t" when value.GetValueKind() != JsonValueKind.Number || !long.TryParse(value.ToJsonString(), out _):
                case "float_t" when value.GetValueKind() != JsonValueKind.Number:
                case "boolean_t" when value.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False):
                    problems.Add($"{at}: {value.ToJsonString()} is not a {caption} ({typeName})");
                    return false;
                case "integer_t" when value.GetValue<long>() is < int.MinValue or > int.MaxValue:
                    problems.Add($"{at}: {value} is out of the Integer range");
                    return false;
            }
            if (type["regex"]?.GetValue<string>() is { } pattern && value.GetValueKind() == JsonValueKind.String
                && !Regex.IsMatch(value.GetValue<string>(), pattern, RegexOptions.None, TimeSpan.FromSeconds(1)))
                problems.Add($"{at}: \"{value}\" does not match the {type["caption"]} pattern");
            if (type["max_len"]?.GetValue<int>() is { } maxLength && value.GetValueKind() == JsonValueKind.String && value.GetValue<string>().Length > maxLength)
                problems.Add($"{at}: longer than {maxLength} characters ({typeName})");
            if (type["range"] is JsonArray range && value.GetValueKind() == JsonValueKind.Number
                && (value.GetValue<double>() < range[0]!.GetValue<double>() || value.GetValue<double>() > range[1]!.GetValue<double>()))
                problems.Add($"{at}: {value} is out of {range.ToJsonString()} ({typeName})");
            name = type["type"]?.GetValue<string>();
        }
        return true;
    }

    private Compiled Object(string name)
    {
        lock (_objects)
        {
            if (!_objects.TryGetValue(name, out var compiled))
                _objects[name] = compiled = Compile(_objectFiles[name] ?? throw new InvalidOperationException($"unknown OCSF object {name}"), _objectFiles);
            return compiled;
        }
    }

    /// <summary>A class's or object's attributes: its parent's, its profiles', its own; each over the dictionary's definition.</summary>
    private Compiled Compile(JsonObject file, Dictionary<string, JsonObject> files)
    {
        var attributes = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        JsonObject? constraints = null;
        var chain = new List<JsonObject>();
        for (var at = file; at is not null; at = at["extends"]?.GetValue<string>() is { } parent ? files[parent] : null)
            chain.Insert(0, at);
        foreach (var level in chain)
        {
            var own = level["attributes"]?.AsObject() ?? [];
            if (own["$include"] is JsonArray includes)
            {
                foreach (var include in includes)
                {
                    var included = Read(include!.GetValue<string>());
                    var profile = included["meta"]?.GetValue<string>() == "profile" ? included["name"]!.GetValue<string>() : null;
                    foreach (var (name, entry) in included["attributes"]!.AsObject())
                    {
                        var withProfile = entry!.DeepClone().AsObject();
                        if (profile is not null && !withProfile.ContainsKey("profile"))
                            withProfile["profile"] = profile;
                        Merge(attributes, name, withProfile);
                    }
                }
            }
            foreach (var (name, entry) in own)
            {
                if (name != "$include")
                    Merge(attributes, name, entry!.AsObject());
            }
            if (level["constraints"] is JsonObject levelConstraints && levelConstraints.Count > 0)
                constraints = levelConstraints;
        }
        return new Compiled(file["name"]!.GetValue<string>(), file["caption"]!.GetValue<string>(), attributes, constraints);
    }

    /// <summary>Lays an entry over an attribute's definition so far (the dictionary's, the first time): fields replace, enums join.</summary>
    private void Merge(Dictionary<string, JsonObject> attributes, string name, JsonObject entry)
    {
        if (!attributes.TryGetValue(name, out var definition))
        {
            definition = _dictionary[name]?.DeepClone().AsObject() ?? throw new InvalidOperationException($"attribute {name} is not in the OCSF dictionary");
            attributes[name] = definition;
        }
        foreach (var (field, value) in entry)
        {
            if (field == "enum" && definition["enum"] is JsonObject known && value is JsonObject more)
            {
                foreach (var (key, caption) in more)
                    known[key] = caption!.DeepClone();
            }
            else if (field == "requirement" && value is null)
            {
                // "requirement": null keeps what the parent said.
            }
            else
            {
                definition[field] = value?.DeepClone();
            }
        }
    }

    private string? Inherited(JsonObject file, string field)
    {
        for (var at = file; at is not null; at = at["extends"]?.GetValue<string>() is { } parent ? _classFiles[parent] : null)
        {
            if (at[field]?.GetValue<string>() is { } value)
                return value;
        }
        return null;
    }

    private JsonObject Read(string relative) => JsonNode.Parse(File.ReadAllText(Path.Combine(_root, relative)))!.AsObject();
}
