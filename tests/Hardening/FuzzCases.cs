using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Platform.Api.Auth;
using Platform.Contracts;

namespace Platform.Tests.Hardening;

/// <summary>One request of the fuzz run: which operation, which kind of malformation, and the bytes to send.</summary>
public sealed record FuzzRequest(
    string Operation,
    string Kind,
    string Method,
    string Target,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    byte[]? Body,
    IReadOnlyList<KeyValuePair<string, string>> ContentHeaders);

/// <summary>Real resources of the fuzzed api, so that requests get past 404s into the handlers.</summary>
public sealed record FuzzWorld(
    string AdminSecret,
    string AgentId,
    string AgentSecret,
    string OtherAgentId,
    string OtherAgentSecret,
    string RetiredAgentId,
    string EnrollmentSecret,
    string VictimTokenId,
    string VictimEnrollmentTokenId,
    string RuleId,
    int RuleVersion,
    string VictimRuleId,
    string AlertId,
    string IncidentId,
    string WebhookId,
    string VictimWebhookId,
    string DeliveryId,
    string ContainerId,
    string ForeignCursor,
    string PlantedAccessToken);

/// <summary>
/// Makes the fuzz run's requests from openapi.yaml: for every operation, a valid request (real ids, the spec's
/// example body) and many malformed variants of it, each named by its kind. The list depends only on the spec,
/// the seed and the world's ids.
/// </summary>
public sealed class FuzzCases
{
    /// <summary>A marker the log check looks for at the start of a line: a CR/LF from a request that reached the log raw.</summary>
    public const string Forged = "FORGEDLINE";

    /// <summary>The most requests one operation gets (a seeded sample when it has more kinds x fields), so no operation drowns the rest.</summary>
    private const int PerOperationCap = 260;

    private static readonly string[] Times =
    [
        "9999-12-31T23:59:59.9999999Z", "0000-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "2026-11-22T10:00:00", "2026-02-30T10:00:00Z",
        "2026-11-22T25:61:61Z", "+275760-09-13T00:00:00Z", "", "2026-11-22T10:00:00.12345678901234567890Z", "10000-01-01T00:00:00Z", "2026-11-22T10:00:00+99:99",
    ];

    private static readonly (string Name, string Value)[] Cursors =
    [
        ("junk", B64("junk")), ("djE6AA", "djE6AA"), ("v1-empty", B64("v1:")), ("v1-nul", B64("v1:\0\0")), ("v1-int-overflow", B64("v1:99999999999999999999")),
        ("v1-negative", B64("v1:-1")), ("v1-huge-key", B64("v1:" + new string('z', 140))), ("v1-separators", B64("v1:|||::\\\"'")), ("v1-invalid-utf8", B64Bytes([.. "v1:"u8, 0xFF, 0xC0, 0x80])),
        ("not-base64", "!!!!"), ("padded", "djE6eA=="), ("v2", B64("v2:abc")), ("too-long", new string('A', 201)), ("sql", B64("v1:' or 1=1 --")),
    ];

    private static readonly (string Name, string Value)[] PathGlobs =
    [
        ("backtracking", "/*a*a*a*a*a*a*a*a*a*a*b"), ("empty-class", "/[]"), ("reversed-range", "/[z-a]"), ("unclosed-class", "/[abc"), ("double-star-chain", "/**/**/**/**/**/**/**/**/x"),
        ("escape-at-end", "/a\\"), ("regex-chars", "/(a+)+$"), ("negated-class", "/[!]"), ("nested-class", "/[[[[]]]]"), ("star-run", "/" + new string('*', 2000)),
    ];

    private static readonly (string Name, string Value)[] HostGlobs =
    [
        ("empty-class", "[]"), ("reversed-range", "[z-a]"), ("unclosed-class", "web[1-"), ("backtracking", "*a*a*a*a*a*a*a*a*a*a*b"), ("long-70000", new string('a', 70_000)),
        ("star-run", new string('*', 254)), ("trailing-dot", "web-01."),
    ];

    private readonly FuzzSpec _spec;
    private readonly FuzzWorld _world;
    private readonly Random _random;
    private readonly List<FuzzRequest> _cases = [];

    private FuzzCases(FuzzSpec spec, FuzzWorld world, int seed)
    {
        _spec = spec;
        _world = world;
        _random = new Random(seed);
    }

    /// <summary>The valid request of every operation (the warm-up pass, and the check that the api still works).</summary>
    public static IReadOnlyList<FuzzRequest> Valid(FuzzSpec spec, FuzzWorld world)
    {
        var cases = new FuzzCases(spec, world, 0);
        return spec.Operations.Select(o => cases.Base(o, "valid").Render()).ToList();
    }

    /// <summary>The malformed requests, in a seeded order (kinds and operations mixed as real traffic mixes them).</summary>
    public static IReadOnlyList<FuzzRequest> Malformed(FuzzSpec spec, FuzzWorld world, int seed)
    {
        var cases = new FuzzCases(spec, world, seed);
        foreach (var operation in spec.Operations)
        {
            var before = cases._cases.Count;
            cases.Operation(operation);
            var mine = cases._cases.Skip(before).ToList();
            if (mine.Count > PerOperationCap)
            {
                // Keep one of each kind, then a seeded sample of the rest.
                var keep = mine.GroupBy(c => c.Kind).Select(g => g.First()).ToList();
                keep.AddRange(mine.Except(keep).OrderBy(_ => cases._random.Next()).Take(Math.Max(0, PerOperationCap - keep.Count)));
                cases._cases.RemoveRange(before, cases._cases.Count - before);
                cases._cases.AddRange(mine.Where(keep.Contains));
            }
        }

        return cases._cases.OrderBy(_ => cases._random.Next()).ToList();
    }

    private void Operation(FuzzOperation op)
    {
        Generic(op);
        foreach (var parameter in op.In("query"))
            Query(op, parameter);
        foreach (var parameter in op.In("path"))
            PathParameter(op, parameter);
        foreach (var parameter in op.In("header"))
            Header(op, parameter);
        if (op.Body is { } body)
        {
            BodyFields(op, body);
            BodyAsAWhole(op, body);
            if (body.MediaTypes.Any(m => m.Contains("yaml", StringComparison.Ordinal)))
                Yaml(op);
        }
    }

    // ---- Every operation: credentials, secrets in the query, unknown and duplicated parameters, odd headers.
    private void Generic(FuzzOperation op)
    {
        Add(Base(op, "auth.none").Auth(null));
        Add(Base(op, "auth.wrong-token").Auth("Bearer plt_" + new string('x', 43)));
        Add(Base(op, "auth.not-bearer").Auth("Basic YWRtaW46YWRtaW4="));
        Add(Base(op, "auth.empty-bearer").Auth("Bearer "));
        Add(Base(op, "auth.token-with-spaces").Auth("Bearer a b c"));
        Add(Base(op, "auth.enrollment-secret").Auth("Bearer " + _world.EnrollmentSecret));
        Add(Base(op, "auth.huge-token").Auth("Bearer plt_" + new string('x', 6000)));
        Add(Base(op, "query.access-token").Auth(null).Q("access_token", _world.PlantedAccessToken));
        Add(Base(op, "query.access-token-and-bearer").Q("access_token", _world.PlantedAccessToken));
        Add(Base(op, "query.unknown-parameter").Q("zzUnknown", "1"));
        Add(Base(op, "query.crlf-unknown-parameter").QRaw("zz", "a%0D%0A" + Forged + "%20fail:%20forged"));
        Add(Base(op, "query.nul-unknown-parameter").QRaw("zz", "%00"));
        Add(Base(op, "query.invalid-utf8-name").QRaw("%FF%FE", "1"));
        Add(Base(op, "header.accept-xml").H("Accept", "application/xml"));
        Add(Base(op, "header.accept-junk").H("Accept", ";;;/;q=abc"));
        Add(Base(op, "header.huge-header").H("X-Junk", new string('x', 7000)));
        Add(Base(op, "header.x-forwarded-junk").H("X-Forwarded-For", "999.999.999.999, ::ffff:zz").H("X-Forwarded-Proto", "gopher"));
        if (op.Body is null && op.Method != "GET")
        {
            Add(Base(op, "body.unexpected").Raw("{\"a\":1}"u8.ToArray(), "application/json"));
            Add(Base(op, "body.unexpected-invalid-gzip").Raw([0x1F, 0x8B, 0x08, 0x00, 0xFF, 0xFF], "application/json", "gzip"));
        }

        if (op.Method == "GET")
            Add(Base(op, "body.on-get").Raw("{\"a\":"u8.ToArray(), "application/json", "gzip"));
        if (op.In("path").Any(p => p.Name == "agentId") && Access(op).Roles.Contains(Role.Agent))
            Add(Base(op, "auth.other-agents-token").Auth("Bearer " + _world.OtherAgentSecret));
    }

    private void Query(FuzzOperation op, FuzzParameter p)
    {
        var schema = p.Schema;
        var type = schema["type"]?.GetValue<string>();
        var kind = "query." + p.Name;
        Add(Base(op, kind + ".empty").Q(p.Name, ""));
        Add(Base(op, kind + ".duplicated").Q(p.Name, ValidQuery(p)).Q(p.Name, ValidQuery(p)));
        Add(Base(op, kind + ".nul").QRaw(p.Name, "a%00b"));
        Add(Base(op, kind + ".nul-only").QRaw(p.Name, "%00"));
        Add(Base(op, kind + ".crlf").QRaw(p.Name, "a%0D%0A" + Forged + "%20fail:%20forged"));
        Add(Base(op, kind + ".escape").QRaw(p.Name, "a%1B%5B31m%07%08"));
        Add(Base(op, kind + ".invalid-utf8-ff").QRaw(p.Name, "a%FF"));
        Add(Base(op, kind + ".invalid-utf8-overlong").QRaw(p.Name, "%C0%80"));
        Add(Base(op, kind + ".invalid-utf8-surrogate").QRaw(p.Name, "%ED%A0%80"));
        Add(Base(op, kind + ".wrong-type").Q(p.Name, type is "integer" or "boolean" ? "abc" : "1"));
        Add(Base(op, kind + ".array-syntax").QRaw(p.Name + "%5B%5D", "1"));
        var max = Int(schema["maxLength"]) ?? Int(schema["items"]?["maxLength"]);
        Add(Base(op, kind + ".too-long").Q(p.Name, Pad(ValidQuery(p), Math.Min((max ?? 1000) + 1, 7000))));
        if (type == "integer")
        {
            foreach (var (name, value) in new[] { ("decimal", "1.5"), ("exponent", "1e3"), ("hex", "0x10"), ("negative", "-1"), ("zero", "0"), ("above-max", ((schema["maximum"] is JsonValue m ? m.GetValue<long>() : 200) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)), ("huge", "99999999999999999999"), ("plus", "+5"), ("spaces", " 5 ") })
                Add(Base(op, kind + ".integer-" + name).Q(p.Name, value));
        }

        if (type == "boolean")
        {
            foreach (var value in new[] { "yes", "2", "TRUE", "tru" })
                Add(Base(op, kind + ".boolean-" + value).Q(p.Name, value));
        }

        if (schema["format"]?.GetValue<string>() == "date-time")
        {
            for (var i = 0; i < Times.Length; i++)
                Add(Base(op, kind + ".time-" + i).Q(p.Name, Times[i]));
        }

        var enumSchema = type == "array" ? _spec.Resolve(schema["items"]) : schema;
        if (enumSchema["enum"] is JsonArray values)
        {
            var first = values[0]!.GetValue<string>();
            Add(Base(op, kind + ".enum-number").Q(p.Name, "0"));
            Add(Base(op, kind + ".enum-trailing-space").Q(p.Name, first + " "));
            Add(Base(op, kind + ".enum-upper-case").Q(p.Name, first.ToUpperInvariant()));
            Add(Base(op, kind + ".enum-unknown").Q(p.Name, "zz-unknown"));
            if (type == "array")
            {
                var draft = Base(op, kind + ".too-many-items");
                for (var i = 0; i <= (Int(schema["maxItems"]) ?? 10); i++)
                    draft.Q(p.Name, values[i % values.Count]!.GetValue<string>());
                Add(draft);
                Add(Base(op, kind + ".comma-list").Q(p.Name, string.Join(",", values.Select(v => v!.GetValue<string>()))));
            }
        }

        if (schema["pattern"] is not null)
            Add(Base(op, kind + ".pattern-violation").Q(p.Name, "!!" + ValidQuery(p) + " *"));
        if (p.Name == "cursor")
        {
            foreach (var (name, value) in Cursors)
                Add(Base(op, kind + ".crafted-" + name).Q(p.Name, value));
            Add(Base(op, kind + ".from-another-list").Q(p.Name, _world.ForeignCursor));
            Add(Base(op, kind + ".truncated").Q(p.Name, _world.ForeignCursor[..^3]));
            Add(Base(op, kind + ".extended").Q(p.Name, _world.ForeignCursor + "AAAA"));
        }

        if (p.Name == "pathGlob")
        {
            foreach (var (name, value) in PathGlobs)
                Add(Base(op, kind + ".glob-" + name).Q(p.Name, value));
        }

        if (p.Name == "pathPrefix")
            Add(Base(op, kind + ".like-wildcards").Q(p.Name, "/%_%_%_\\"));
        if (p.Name is "hostname" or "agentId" or "ruleId" or "containerId")
        {
            Add(Base(op, kind + ".other-agent").Q(p.Name, p.Name == "hostname" ? "fuzz-other" : p.Name == "agentId" ? _world.OtherAgentId : _world.RuleId));
            Add(Base(op, kind + ".glob-chars").Q(p.Name, "*[]?%_"));
        }
    }

    private void PathParameter(FuzzOperation op, FuzzParameter p)
    {
        var kind = "path." + p.Name;
        var prefix = p.Schema["pattern"]?.GetValue<string>() is { } pattern && pattern.Length > 5 && pattern[1] is >= 'a' and <= 'z' ? pattern[1..5] : "";
        Add(Base(op, kind + ".nonexistent").P(p.Name, prefix.Length > 0 ? prefix + "00000000000000000000000000000000" : "999999"));
        Add(Base(op, kind + ".other-type-id").P(p.Name, p.Name == "agentId" ? _world.RuleId : _world.AgentId));
        Add(Base(op, kind + ".nul").P(p.Name, Uri.EscapeDataString(PathValue(op, p)) + "%00"));
        Add(Base(op, kind + ".invalid-utf8").P(p.Name, "%FF%C0%80"));
        Add(Base(op, kind + ".crlf").P(p.Name, "a%0D%0A" + Forged));
        Add(Base(op, kind + ".too-long").P(p.Name, new string('a', 3000)));
        Add(Base(op, kind + ".dot-dot").P(p.Name, "..%2F..%2Fetc%2Fpasswd"));
        Add(Base(op, kind + ".glob").P(p.Name, "%2A"));
        Add(Base(op, kind + ".upper-case").P(p.Name, Uri.EscapeDataString(PathValue(op, p).ToUpperInvariant())));
        Add(Base(op, kind + ".space").P(p.Name, Uri.EscapeDataString(PathValue(op, p)) + "%20"));
        if (p.Name == "agentId" && op.OperationId != DecommissionAgent) // as admin it would retire the other agent for good
            Add(Base(op, kind + ".other-agent").P(p.Name, _world.OtherAgentId));
        if (p.Name == "version")
        {
            foreach (var value in new[] { "0", "-1", "99999999999", "1.5", "abc", "2147483648" })
                Add(Base(op, kind + ".version-" + value).P(p.Name, value));
        }
    }

    private void Header(FuzzOperation op, FuzzParameter p)
    {
        var kind = "header." + p.Name;
        string[] values = p.Name switch
        {
            "Range" => ["bytes=999999999-", "bytes=999999999-999999999", "bytes=5-1", "bytes=-0", "bytes=0-0," + string.Join(",", Enumerable.Range(1, 300).Select(i => $"{i}-{i}")), "items=0-1", "bytes=abc", "bytes=", "bytes=-99999999999999999999", "bytes=0-1;0-2"],
            "If-Range" => ["junk", "\"etag\"", "Mon, 99 Foo 9999 99:99:99 GMT", new string('x', 500)],
            _ => ["\"unterminated", "W/", "*, \"a\"", "\"" + new string('a', 150) + "\"", "junk", "W/\"a\" \"b\"", "\"\\\"\""],
        };
        for (var i = 0; i < values.Length; i++)
            Add(Base(op, $"{kind}.malformed-{i}").H(p.Name, values[i]));
    }

    // ---- Bodies, field by field.
    private sealed record Field(List<object> Path, JsonObject Schema, JsonNode? Value, string Name);

    private void BodyFields(FuzzOperation op, FuzzBody body)
    {
        var example = ValidBody(op);
        var fields = new List<Field>();
        var objects = new List<(List<object> Path, JsonObject Schema, JsonObject Value)>();
        Walk(example, body.Schema, [], "(body)", fields, objects);

        foreach (var f in fields)
        {
            var kind = "body." + string.Join('.', f.Path.Select(s => s is int ? "[]" : s));
            var type = f.Schema["type"]?.GetValue<string>() ?? f.Value?.GetValueKind().ToString().ToLowerInvariant();
            Mutate(op, kind + ".null", f.Path, _ => null);
            Mutate(op, kind + ".wrong-type", f.Path, v => v switch
            {
                JsonObject => new JsonArray(1, 2),
                JsonArray => new JsonObject { ["a"] = 1 },
                JsonValue value when value.GetValueKind() == System.Text.Json.JsonValueKind.String => JsonValue.Create(12345),
                _ => JsonValue.Create("12"),
            });
            if (f.Value is JsonValue sv && sv.GetValueKind() == System.Text.Json.JsonValueKind.String)
                StringField(op, kind, f, sv.GetValue<string>());
            else if (type is "integer" or "number")
            {
                foreach (var (name, raw) in new[] { ("1e400", "1e400"), ("30-digits", "123456789012345678901234567890"), ("int32-overflow", "2147483648"), ("int64-overflow", "9223372036854775808"), ("negative", "-1"), ("fraction", "1.5"), ("minus-zero", "-0"), ("exponent", "1E+2"), ("leading-zero", "007") })
                    Splice(op, kind + ".number-" + name, f.Path, Encoding.ASCII.GetBytes(raw));
            }
            else if (type == "boolean")
            {
                Mutate(op, kind + ".boolean-as-string", f.Path, _ => JsonValue.Create("true"));
                Mutate(op, kind + ".boolean-as-number", f.Path, _ => JsonValue.Create(1));
            }
            else if (f.Value is JsonArray array)
            {
                Mutate(op, kind + ".null-in-array", f.Path, v => Appended((JsonArray)v!, null));
                Mutate(op, kind + ".null-only-array", f.Path, _ => new JsonArray((JsonNode?)null));
                Mutate(op, kind + ".empty-array", f.Path, _ => new JsonArray());
                if (array.Count > 0)
                {
                    var maxItems = Int(f.Schema["maxItems"]) ?? 1000;
                    Mutate(op, kind + ".too-many-items", f.Path, v => new JsonArray(Enumerable.Range(0, Math.Min(maxItems + 1, 3000)).Select(_ => ((JsonArray)v!)[0]?.DeepClone()).ToArray()));
                    Mutate(op, kind + ".number-in-array", f.Path, v => Appended((JsonArray)v!, JsonValue.Create(7)));
                    Mutate(op, kind + ".nested-array", f.Path, v => new JsonArray(((JsonArray)v!).DeepClone()));
                }
            }
        }

        foreach (var (path, schema, value) in objects)
        {
            var kind = "body." + (path.Count == 0 ? "(root)" : string.Join('.', path.Select(s => s is int ? "[]" : s)));
            Mutate(op, kind + ".unknown-field", path, v => With((JsonObject)v!, "zzUnknown", JsonValue.Create(1)));
            Mutate(op, kind + ".empty-object", path, _ => new JsonObject());
            foreach (var required in _spec.Required(schema, value).Where(value.ContainsKey))
                Mutate(op, $"{kind}.missing-required-{required}", path, v => Without((JsonObject)v!, required));
            var additional = schema["additionalProperties"] is JsonObject;
            foreach (var (name, property) in value.ToList())
            {
                if (additional)
                {
                    // A map: its keys are data. Odd keys instead of odd names.
                    Mutate(op, kind + ".map-key-nul", path, v => With((JsonObject)v!, "k\0" + name, JsonValue.Create("v")));
                    Mutate(op, kind + ".map-key-empty", path, v => With((JsonObject)v!, "", JsonValue.Create("v")));
                    Mutate(op, kind + ".map-key-too-long", path, v => With((JsonObject)v!, new string('k', 300), JsonValue.Create("v")));
                    Mutate(op, kind + ".map-too-many", path, v => { var o = (JsonObject)v!.DeepClone(); for (var i = 0; i < 70; i++) o["k" + i] = "v"; return o; });
                    MutateSpliced(op, kind + ".map-duplicate-key", path, v => DuplicateKey((JsonObject)v!, name, JsonValue.Create("other")));
                    continue;
                }

                Mutate(op, $"{kind}.key-case-{name}", path, v => Renamed((JsonObject)v!, name, char.ToUpperInvariant(name[0]) + name[1..]));
                Mutate(op, $"{kind}.key-upper-{name}", path, v => Renamed((JsonObject)v!, name, name.ToUpperInvariant()));
                Mutate(op, $"{kind}.key-trailing-space-{name}", path, v => Renamed((JsonObject)v!, name, name + " "));
                var other = property is JsonValue pv && pv.GetValueKind() == System.Text.Json.JsonValueKind.String && schema["properties"]?[name] is { } ps
                    && _spec.Resolve(ps)["enum"] is JsonArray e && e.Count > 1
                    ? e.Select(x => x!.GetValue<string>()).First(x => x != pv.GetValue<string>())
                    : null;
                MutateSpliced(op, $"{kind}.duplicate-key-{name}", path, v => DuplicateKey((JsonObject)v!, name, other is null ? property?.DeepClone() : JsonValue.Create(other)));
            }
        }

        // One field of each op gets the expensive shapes (deep nesting, a string near the body limit).
        if (fields.Count > 0)
        {
            var f = fields[_random.Next(fields.Count)];
            Splice(op, "body.deep-nesting-in-field", f.Path, Encoding.ASCII.GetBytes(new string('[', 10_000) + new string(']', 10_000)));
            Splice(op, "body.deep-objects-in-field", f.Path, Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 5_000)) + "1" + new string('}', 5_000)));
            var s = fields.Where(x => x.Value is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String).ToList();
            if (s.Count > 0)
                Mutate(op, "body.string-900k", s[_random.Next(s.Count)].Path, _ => JsonValue.Create(new string('a', 900_000)));
        }
    }

    private void StringField(FuzzOperation op, string kind, Field f, string value)
    {
        var schema = f.Schema;
        Mutate(op, kind + ".nul", f.Path, _ => JsonValue.Create(value + "\0x"));
        Mutate(op, kind + ".nul-only", f.Path, _ => JsonValue.Create("\0"));
        Mutate(op, kind + ".control-chars", f.Path, _ => JsonValue.Create(value + "\u001b[31m\r\n" + Forged + " fail: forged\u0007\u0085\u2028"));
        Splice(op, kind + ".lone-surrogate", f.Path, Encoding.ASCII.GetBytes("\"" + Ascii(value) + "\\ud800\""));
        Splice(op, kind + ".raw-control-char", f.Path, [.. Encoding.ASCII.GetBytes("\"" + Ascii(value)), 0x01, 0x0A, (byte)'"']);
        Splice(op, kind + ".raw-nul-byte", f.Path, [.. Encoding.ASCII.GetBytes("\"" + Ascii(value)), 0x00, (byte)'"']);
        Splice(op, kind + ".invalid-utf8-ff", f.Path, [.. Encoding.ASCII.GetBytes("\"" + Ascii(value)), 0xFF, (byte)'"']);
        Splice(op, kind + ".invalid-utf8-overlong", f.Path, [.. Encoding.ASCII.GetBytes("\"" + Ascii(value)), 0xC0, 0x80, (byte)'"']);
        Splice(op, kind + ".invalid-utf8-surrogate", f.Path, [.. Encoding.ASCII.GetBytes("\"" + Ascii(value)), 0xED, 0xA0, 0x80, (byte)'"']);
        Mutate(op, kind + ".empty", f.Path, _ => JsonValue.Create(""));
        Mutate(op, kind + ".whitespace", f.Path, _ => JsonValue.Create(" \t "));
        if (Int(schema["maxLength"]) is { } max)
            Mutate(op, kind + ".too-long", f.Path, _ => JsonValue.Create(Pad(value, max + 1)));
        if (schema["pattern"] is not null)
            Mutate(op, kind + ".pattern-violation", f.Path, _ => JsonValue.Create("!!" + value + " *"));
        if (schema["format"]?.GetValue<string>() == "date-time")
        {
            for (var i = 0; i < Times.Length; i++)
                Mutate(op, kind + ".time-" + i, f.Path, _ => JsonValue.Create(Times[i]));
        }

        if (schema["enum"] is JsonArray)
        {
            Mutate(op, kind + ".enum-number", f.Path, _ => JsonValue.Create(0));
            Mutate(op, kind + ".enum-trailing-space", f.Path, _ => JsonValue.Create(value + " "));
            Mutate(op, kind + ".enum-leading-space", f.Path, _ => JsonValue.Create(" " + value));
            Mutate(op, kind + ".enum-upper-case", f.Path, _ => JsonValue.Create(value.ToUpperInvariant()));
            Mutate(op, kind + ".enum-unknown", f.Path, _ => JsonValue.Create("zz-unknown"));
            Mutate(op, kind + ".enum-number-string", f.Path, _ => JsonValue.Create("1"));
        }

        // Globs: rule paths and host names are patterns the server compiles.
        if (f.Name == "path" || (f.Path.Count >= 2 && f.Path[^2] is "hostnames"))
        {
            var globs = f.Name == "path" ? PathGlobs : HostGlobs;
            foreach (var (name, glob) in globs)
                Mutate(op, kind + ".glob-" + name, f.Path, _ => JsonValue.Create(glob));
        }

        if (f.Name == "url")
        {
            foreach (var (name, url) in new[] { ("nat64", "http://[64:ff9b:1::a9fe:a9fe]/"), ("6to4", "http://[2002:a9fe:a9fe::]/"), ("compatible", "http://[::127.0.0.1]/"), ("mapped", "http://[::ffff:169.254.169.254]/"), ("trailing-dot", "http://metadata.google.internal./"), ("unicode-digits", "http://\u0661\u0662\u0667.0.0.1/"), ("userinfo", "http://a@169.254.169.254/"), ("decimal-ip", "http://2852039166/"), ("no-host", "http:///x"), ("file", "file:///etc/passwd") })
                Mutate(op, kind + ".url-" + name, f.Path, _ => JsonValue.Create(url));
        }
    }

    // ---- Bodies as a whole: encodings, content types, syntax, size.
    private void BodyAsAWhole(FuzzOperation op, FuzzBody body)
    {
        var valid = Encoding.UTF8.GetBytes(ValidBody(op).ToJsonString());
        Add(Base(op, "encoding.invalid-gzip").Raw([0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xFF, 0xFF, 0xFF], "application/json", "gzip"));
        Add(Base(op, "encoding.not-gzip").Raw(valid, "application/json", "gzip"));
        Add(Base(op, "encoding.truncated-gzip").Raw(Gzip(valid)[..^8], "application/json", "gzip"));
        Add(Base(op, "encoding.invalid-deflate").Raw([0xFF, 0xFF, 0xFF, 0x00], "application/json", "deflate"));
        Add(Base(op, "encoding.invalid-br").Raw([0xFF, 0xFF, 0xFF, 0x00, 0x12], "application/json", "br"));
        Add(Base(op, "encoding.unknown-zstd").Raw(valid, "application/json", "zstd"));
        Add(Base(op, "encoding.unknown-junk").Raw(valid, "application/json", "x-junk"));
        Add(Base(op, "encoding.stacked-gzip").Raw(Gzip(Gzip(valid)), "application/json", "gzip, gzip"));
        Add(Base(op, "encoding.gzip-bomb").Raw(Gzip(new byte[8 * 1024 * 1024]), "application/json", "gzip"));
        Add(Base(op, "encoding.identity-listed").Raw(valid, "application/json", "identity, gzip"));
        Add(Base(op, "content-type.text-plain").Raw(valid, "text/plain"));
        Add(Base(op, "content-type.xml").Raw("<a/>"u8.ToArray(), "application/xml"));
        Add(Base(op, "content-type.form").Raw("a=1&b=2"u8.ToArray(), "application/x-www-form-urlencoded"));
        Add(Base(op, "content-type.multipart").Raw("--x\r\n\r\n--x--"u8.ToArray(), "multipart/form-data; boundary=x"));
        Add(Base(op, "content-type.charset-latin1").Raw([.. "{\"a\":\""u8, 0xE9, .. "\"}"u8], "application/json; charset=iso-8859-1"));
        Add(Base(op, "content-type.charset-utf16").Raw(Encoding.Unicode.GetBytes(ValidBody(op).ToJsonString()), "application/json; charset=utf-16"));
        Add(Base(op, "content-type.missing").Raw(valid, null));
        Add(Base(op, "content-type.junk").Raw(valid, "application/json; ;;; =="));
        Add(Base(op, "body.empty").Raw([], "application/json"));
        Add(Base(op, "body.truncated").Raw(valid[..(valid.Length / 2)], "application/json"));
        Add(Base(op, "body.not-json").Raw("{{{"u8.ToArray(), "application/json"));
        Add(Base(op, "body.json-null").Raw("null"u8.ToArray(), "application/json"));
        Add(Base(op, "body.json-array").Raw("[]"u8.ToArray(), "application/json"));
        Add(Base(op, "body.json-string").Raw("\"x\""u8.ToArray(), "application/json"));
        Add(Base(op, "body.json-number").Raw("1e400"u8.ToArray(), "application/json"));
        Add(Base(op, "body.bom").Raw([0xEF, 0xBB, 0xBF, .. valid], "application/json"));
        Add(Base(op, "body.trailing-garbage").Raw([.. valid, .. "x}]"u8], "application/json"));
        Add(Base(op, "body.two-documents").Raw([.. valid, .. valid], "application/json"));
        Add(Base(op, "body.comments").Raw([.. "/* c */"u8, .. valid], "application/json"));
        Add(Base(op, "body.single-quotes").Raw(Encoding.UTF8.GetBytes(ValidBody(op).ToJsonString().Replace('"', '\'')), "application/json"));
        Add(Base(op, "body.invalid-utf8-ff").Raw([.. valid[..^1], .. ",\"x\":\""u8, 0xFF, .. "\"}"u8], "application/json"));
        Add(Base(op, "body.raw-nul").Raw([0x00, .. valid], "application/json"));
        Add(Base(op, "body.deep-array").Raw(Encoding.ASCII.GetBytes(new string('[', 100_000)), "application/json"));
        Add(Base(op, "body.deep-object").Raw(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 50_000))), "application/json"));
        Add(Base(op, "body.too-large").Raw(Encoding.ASCII.GetBytes("{\"a\":\"" + new string('a', 1_200_000) + "\"}"), "application/json"));
        Add(Base(op, "body.many-keys").Raw(Encoding.ASCII.GetBytes("{" + string.Join(",", Enumerable.Range(0, 50_000).Select(i => $"\"k{i}\":0")) + "}"), "application/json"));
    }

    // ---- YAML, for the operations that accept it.
    private void Yaml(FuzzOperation op)
    {
        const string yaml = "application/yaml";
        var rule = "rules:\n  - name: yaml-rule\n    severity: high\n    scope: {labels: {role: app}}\n    paths: [{path: /srv/app/application.cfg}]\n    operations: [read]\n    effect: alert\n";
        Add(Base(op, "yaml.valid-baseline").Raw(Encoding.UTF8.GetBytes(rule), yaml));

        // An alias bomb kept small (5 levels of 5: 3,125 leaves when expanded) so a server that expands it is not hurt.
        var bomb = new StringBuilder("a0: &a0 [x, x, x, x, x]\n");
        for (var i = 1; i <= 5; i++)
            bomb.Append($"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]\n");
        bomb.Append("rules: [*a5]\n");
        Add(Base(op, "yaml.alias-bomb").Raw(Encoding.UTF8.GetBytes(bomb.ToString()), yaml));
        Add(Base(op, "yaml.alias-simple").Raw(Encoding.UTF8.GetBytes("r: &r {name: x}\nrules: [*r]\n"), yaml));
        Add(Base(op, "yaml.merge-key").Raw(Encoding.UTF8.GetBytes("base: &b {severity: high}\nrules: [{<<: *b, name: x}]\n"), yaml));
        Add(Base(op, "yaml.undefined-alias").Raw(Encoding.UTF8.GetBytes("rules: [*nothing]\n"), yaml));
        Add(Base(op, "yaml.deep-flow-sequence").Raw(Encoding.ASCII.GetBytes(new string('[', 120_000)), yaml));
        Add(Base(op, "yaml.deep-flow-mapping").Raw(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("{a: ", 20_000))), yaml));
        Add(Base(op, "yaml.deep-block").Raw(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 2_000).Select(i => new string(' ', i) + "a:\n"))), yaml));
        Add(Base(op, "yaml.complex-key").Raw(Encoding.UTF8.GetBytes("? [a, b]\n: c\nrules: []\n"), yaml));
        Add(Base(op, "yaml.mapping-key").Raw(Encoding.UTF8.GetBytes("{a: 1}: x\nrules: []\n"), yaml));
        Add(Base(op, "yaml.tag-binary").Raw(Encoding.UTF8.GetBytes("rules: !!binary aGVsbG8=\n"), yaml));
        Add(Base(op, "yaml.tag-object").Raw(Encoding.UTF8.GetBytes("rules: !!python/object/apply:os.system [id]\n"), yaml));
        Add(Base(op, "yaml.tag-custom").Raw(Encoding.UTF8.GetBytes("rules: !<tag:example.com,2000:x> {}\n"), yaml));
        Add(Base(op, "yaml.multi-document").Raw(Encoding.UTF8.GetBytes(rule + "---\n" + rule), yaml));
        Add(Base(op, "yaml.empty").Raw([], yaml));
        Add(Base(op, "yaml.scalar-document").Raw("just text\n"u8.ToArray(), yaml));
        Add(Base(op, "yaml.tab-indent").Raw(Encoding.UTF8.GetBytes("rules:\n\t- name: x\n"), yaml));
        Add(Base(op, "yaml.unclosed-quote").Raw(Encoding.UTF8.GetBytes("rules: [\"x]\n"), yaml));
        Add(Base(op, "yaml.nul").Raw([.. "rules: [\"a"u8, 0x00, .. "\"]\n"u8], yaml));
        Add(Base(op, "yaml.escaped-nul").Raw(Encoding.UTF8.GetBytes(rule.Replace("yaml-rule", "\"yaml\\0rule\"")), yaml));
        Add(Base(op, "yaml.invalid-utf8").Raw([.. "rules: [\"a"u8, 0xFF, 0xC0, 0x80, .. "\"]\n"u8], yaml));
        Add(Base(op, "yaml.duplicate-keys").Raw(Encoding.UTF8.GetBytes(rule + "rules: []\n"), yaml));
        Add(Base(op, "yaml.key-case").Raw(Encoding.UTF8.GetBytes(rule.Replace("severity", "Severity")), yaml));
        Add(Base(op, "yaml.enum-number").Raw(Encoding.UTF8.GetBytes(rule.Replace("severity: high", "severity: 1")), yaml));
        Add(Base(op, "yaml.huge-number").Raw(Encoding.UTF8.GetBytes(rule.Replace("effect: alert", "effect: alert\n    enabled: 1e400")), yaml));
        Add(Base(op, "yaml.host-glob-empty-class").Raw(Encoding.UTF8.GetBytes(rule.Replace("{labels: {role: app}}", "{hostnames: [\"[]\"]}")), yaml));
        Add(Base(op, "yaml.null-in-array").Raw(Encoding.UTF8.GetBytes("rules: [~]\n"), yaml));
        Add(Base(op, "yaml.huge-scalar").Raw(Encoding.UTF8.GetBytes("rules: []\nx: " + new string('a', 1_000_000) + "\n"), yaml));
        Add(Base(op, "yaml.long-anchor-chain").Raw(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 2_000).Select(i => $"k{i}: &a{i} {(i == 0 ? "x" : "*a" + (i - 1))}\n")) + "rules: []\n"), yaml));
        Add(Base(op, "yaml.gzip-invalid").Raw([0x1F, 0x8B, 0x08, 0x00, 0xFF], yaml, "gzip"));
        Add(Base(op, "yaml.x-yaml-type").Raw(Encoding.UTF8.GetBytes(rule.Replace("yaml-rule", "yaml-rule-x")), "text/yaml; charset=utf-16"));
    }

    // ---- Drafts: a valid request of an operation, changed one way, rendered into bytes.
    private sealed class Draft(FuzzOperation op, string kind)
    {
        public readonly Dictionary<string, string> Path = new(StringComparer.Ordinal);
        public readonly List<(string Name, string Value)> Query = [];
        public readonly List<KeyValuePair<string, string>> Headers = [];
        public readonly Dictionary<string, byte[]> Splices = new(StringComparer.Ordinal);
        public readonly HashSet<string> Defaults = new(StringComparer.Ordinal);
        public JsonNode? Json;
        public byte[]? RawBody;
        public string? ContentType;
        public string? ContentEncoding;

        public Draft Auth(string? authorization)
        {
            Headers.RemoveAll(h => h.Key == "Authorization");
            if (authorization is not null)
                Headers.Add(new("Authorization", authorization));
            return this;
        }

        public Draft Q(string name, string value) => QRaw(Uri.EscapeDataString(name), Uri.EscapeDataString(value));

        public Draft QRaw(string name, string value)
        {
            // A parameter the valid request sets is replaced the first time, added after (to duplicate it).
            if (Defaults.Remove(name))
                Query.RemoveAll(q => q.Name == name);
            Query.Add((name, value));
            return this;
        }

        public Draft P(string name, string rawValue)
        {
            Path[name] = rawValue;
            return this;
        }

        public Draft H(string name, string value)
        {
            Headers.RemoveAll(h => h.Key == name);
            Headers.Add(new(name, value));
            return this;
        }

        public Draft Raw(byte[] body, string? contentType, string? encoding = null)
        {
            RawBody = body;
            Json = null;
            ContentType = contentType;
            ContentEncoding = encoding;
            return this;
        }

        public FuzzRequest Render()
        {
            var target = op.Path;
            foreach (var (name, value) in Path)
                target = target.Replace("{" + name + "}", value, StringComparison.Ordinal);
            if (Query.Count > 0)
                target += "?" + string.Join('&', Query.Select(q => q.Name + "=" + q.Value));
            byte[]? body = RawBody;
            if (body is null && Json is not null)
                body = SpliceInto(Json.ToJsonString(), Splices);
            var content = new List<KeyValuePair<string, string>>();
            if (body is not null && ContentType is not null)
                content.Add(new("Content-Type", ContentType));
            if (body is not null && ContentEncoding is not null)
                content.Add(new("Content-Encoding", ContentEncoding));
            return new FuzzRequest(op.OperationId, kind, op.Method, target, [.. Headers], body, content);
        }
    }

    private Draft Base(FuzzOperation op, string kind)
    {
        var draft = new Draft(op, kind);
        var access = Access(op);
        var secret = access.Enrollment ? _world.EnrollmentSecret
            : access.Anonymous || access.Roles.Contains(Role.Admin) ? _world.AdminSecret
            : _world.AgentSecret;
        draft.Headers.Add(new("Authorization", "Bearer " + secret));
        foreach (var p in op.In("path"))
            draft.Path[p.Name] = Uri.EscapeDataString(PathValue(op, p));
        if (op.OperationId == "listTelemetryEvents")
        {
            draft.Query.Add(("agentId", _world.AgentId)); // it needs an agent or a container
            draft.Defaults.Add("agentId");
        }

        if (op.OperationId == "applyFimRuleSet")
        {
            draft.Query.Add(("dryRun", "true")); // never prune the fixtures
            draft.Defaults.Add("dryRun");
        }

        foreach (var p in op.In("header").Where(p => p.Name == "If-Match"))
            draft.Headers.Add(new("If-Match", op.Method == "DELETE" ? "\"stale\"" : "*"));
        if (op.Body is not null)
        {
            draft.Json = ValidBody(op);
            draft.ContentType = "application/json";
        }

        return draft;
    }

    /// <summary>The one operation whose valid request cannot be put back: it is given an agent of its own.</summary>
    private const string DecommissionAgent = "decommissionAgent";

    private static Access Access(FuzzOperation op) =>
        OperationAccess.Table.TryGetValue(op.OperationId, out var access) ? access : Api.Auth.Access.For(Role.Admin);

    private string PathValue(FuzzOperation op, FuzzParameter p) => p.Name switch
    {
        "tokenId" => _world.VictimTokenId,
        "enrollmentTokenId" => _world.VictimEnrollmentTokenId,
        "agentId" => op.OperationId == DecommissionAgent ? _world.RetiredAgentId : _world.AgentId, // its own agent: decommissioning cannot be undone
        "ruleId" => op.Method == "GET" ? _world.RuleId : _world.VictimRuleId,
        "version" => "1",
        "alertId" => _world.AlertId,
        "incidentId" => _world.IncidentId,
        "webhookId" => op.Method == "DELETE" ? _world.VictimWebhookId : _world.WebhookId,
        "deliveryId" => _world.DeliveryId,
        "containerId" => _world.ContainerId,
        _ => "x",
    };

    private string ValidQuery(FuzzParameter p) => p.Name switch
    {
        "limit" => "2",
        "agentId" => _world.AgentId,
        "ruleId" => _world.RuleId,
        "hostname" => "fuzz-web-01",
        "containerId" => _world.ContainerId,
        "pathPrefix" or "pathGlob" => "/srv/app/*.cfg",
        "cursor" => _world.ForeignCursor,
        "since" or "from" or "updatedAfter" => "2026-11-22T00:00:00Z",
        "until" => "2026-11-23T00:00:00Z",
        _ when p.Schema["type"]?.GetValue<string>() == "boolean" => "true",
        _ => p.Schema["enum"]?[0]?.GetValue<string>() ?? p.Schema["items"]?["enum"]?[0]?.GetValue<string>() ?? "x",
    };

    /// <summary>The spec's example, with the world's ids where it names resources, and times the api accepts.</summary>
    private JsonNode ValidBody(FuzzOperation op)
    {
        var body = op.Body!.Example.DeepClone();
        Patch(body);
        if (op.OperationId == "createWebhook" || op.OperationId == "replaceWebhook")
            body["url"] = "http://127.0.0.1:9/fuzz"; // loopback, allowed for the run; nothing listens there
        if (op.OperationId == "enrollAgent")
            body["hostname"] = "fuzz-enrolled";
        if (op.OperationId == "replaceFimRule")
            body["name"] = "fuzz-victim"; // its own name: the example's is another rule's
        if (op.OperationId == "createEnrollmentToken") // at most 30 days ahead (openapi.yaml); a day's midnight keeps the list the same all day
            body["expiresAt"] = DateTime.UtcNow.Date.AddDays(8).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

        return body;
    }

    private void Patch(JsonNode? node)
    {
        if (node is JsonArray array)
        {
            foreach (var item in array)
                Patch(item);
        }

        if (node is not JsonObject o)
            return;
        foreach (var (name, value) in o.ToList())
        {
            switch (name)
            {
                case "ruleId" when value is JsonValue:
                    o[name] = _world.RuleId;
                    break;
                case "ruleVersion":
                    o[name] = _world.RuleVersion;
                    break;
                case "agentId" when value is JsonValue:
                    o[name] = _world.AgentId;
                    break;
                case "expiresAt":
                    o[name] = "2030-01-01T00:00:00Z";
                    break;
                default:
                    Patch(value);
                    break;
            }
        }
    }

    private void Walk(JsonNode? node, JsonObject schemaNode, List<object> path, string name, List<Field> fields, List<(List<object>, JsonObject, JsonObject)> objects)
    {
        var schema = _spec.Resolve(schemaNode);
        if (path.Count > 0)
            fields.Add(new Field(path, schema, node, name));
        if (node is JsonObject o)
        {
            objects.Add((path, schema, o));
            var properties = _spec.Properties(schema, o);
            foreach (var (key, value) in o)
            {
                var child = properties.TryGetValue(key, out var s) ? s : schema["additionalProperties"] is JsonObject a ? _spec.Resolve(a) : [];
                Walk(value, child, [.. path, key], key, fields, objects);
            }
        }
        else if (node is JsonArray array)
        {
            var items = _spec.Resolve(schema["items"]);
            for (var i = 0; i < Math.Min(array.Count, 2); i++)
                Walk(array[i], items, [.. path, i], name, fields, objects);
        }
    }

    private void Mutate(FuzzOperation op, string kind, List<object> path, Func<JsonNode?, JsonNode?> change)
    {
        var draft = Base(op, kind);
        draft.Json = Replace(draft.Json!, path, change);
        Add(draft);
    }

    /// <summary>Like <see cref="Mutate"/>, for changes that JSON trees cannot hold (duplicate keys): the change returns a placeholder object and registers its text.</summary>
    private void MutateSpliced(FuzzOperation op, string kind, List<object> path, Func<JsonNode?, (JsonNode Node, string Placeholder, byte[] Raw)> change)
    {
        var draft = Base(op, kind);
        draft.Json = Replace(draft.Json!, path, v =>
        {
            var (node, placeholder, raw) = change(v);
            draft.Splices[placeholder] = raw;
            return node;
        });
        Add(draft);
    }

    /// <summary>Replaces a value with raw bytes (numbers JSON cannot hold in a tree, invalid UTF-8, unescaped controls).</summary>
    private void Splice(FuzzOperation op, string kind, List<object> path, byte[] raw)
    {
        var placeholder = $"@@SPLICE{_cases.Count}@@";
        var draft = Base(op, kind);
        draft.Json = Replace(draft.Json!, path, _ => JsonValue.Create(placeholder));
        draft.Splices["\"" + placeholder + "\""] = raw;
        Add(draft);
    }

    private (JsonNode, string, byte[]) DuplicateKey(JsonObject value, string name, JsonNode? second)
    {
        var placeholder = $"@@DUP{_cases.Count}@@";
        var copy = (JsonObject)value.DeepClone();
        var first = copy[name]?.ToJsonString() ?? "null";
        var result = new JsonObject();
        foreach (var (key, v) in copy)
            result[key == name ? placeholder : key] = key == name ? second?.DeepClone() : v?.DeepClone();
        return (result, "\"" + placeholder + "\"", Encoding.UTF8.GetBytes($"\"{name}\":{first},\"{name}\""));
    }

    private static JsonNode Replace(JsonNode root, List<object> path, Func<JsonNode?, JsonNode?> change)
    {
        if (path.Count == 0)
            return change(root) ?? JsonValue.Create("null-root")!;
        var parent = root;
        foreach (var segment in path.Take(path.Count - 1))
            parent = segment is int i ? parent![i]! : parent![(string)segment]!;
        switch (path[^1])
        {
            case int index:
                ((JsonArray)parent)[index] = change(((JsonArray)parent)[index]?.DeepClone());
                break;
            case string key:
                ((JsonObject)parent)[key] = change(((JsonObject)parent)[key]?.DeepClone());
                break;
        }

        return root;
    }

    private static JsonArray Appended(JsonArray array, JsonNode? item)
    {
        var copy = (JsonArray)array.DeepClone();
        copy.Add(item);
        return copy;
    }

    private static JsonObject With(JsonObject o, string name, JsonNode? value)
    {
        var copy = (JsonObject)o.DeepClone();
        copy[name] = value;
        return copy;
    }

    private static JsonObject Without(JsonObject o, string name)
    {
        var copy = (JsonObject)o.DeepClone();
        copy.Remove(name);
        return copy;
    }

    private static JsonObject Renamed(JsonObject o, string from, string to)
    {
        var result = new JsonObject();
        foreach (var (key, value) in o)
            result[key == from ? to : key] = value?.DeepClone();
        return result;
    }

    private static byte[] SpliceInto(string json, Dictionary<string, byte[]> splices)
    {
        var output = new MemoryStream();
        var rest = json;
        while (true)
        {
            var next = splices.Select(s => (s.Key, Index: rest.IndexOf(s.Key, StringComparison.Ordinal))).Where(s => s.Index >= 0).OrderBy(s => s.Index).FirstOrDefault();
            if (next.Key is null)
                break;
            output.Write(Encoding.UTF8.GetBytes(rest[..next.Index]));
            output.Write(splices[next.Key]);
            rest = rest[(next.Index + next.Key.Length)..];
        }

        output.Write(Encoding.UTF8.GetBytes(rest));
        return output.ToArray();
    }

    private static int? Int(JsonNode? node) => node is JsonValue value ? (int)Math.Min(value.GetValue<long>(), int.MaxValue) : null;

    private void Add(Draft draft) => _cases.Add(draft.Render());

    private static string Pad(string value, int length) => value.Length >= length ? value : value + new string('a', length - value.Length);

    private static string Ascii(string value) => new(value.Where(c => c is >= ' ' and < (char)127 and not '"' and not '\\').ToArray());

    private static string B64(string text) => B64Bytes(Encoding.UTF8.GetBytes(text));

    private static string B64Bytes(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
            gzip.Write(data);
        return output.ToArray();
    }
}
