using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Platform.Api.Http;
using Platform.Contracts;

namespace Platform.Bench.Micro;

/// <summary>
/// What checking one request body against openapi.yaml costs (<see cref="SpecSchemas.Validate(Json.Schema.JsonSchema, JsonElement)"/>),
/// per body of a rule set (<c>applyFimRuleSet</c>, the largest body a client sends but ingest): a body at its limits
/// (1,000 rules), the same with every rule at fault, and the hostile bodies the size pass refuses (3,000 rules, 100,000
/// unknown keys). Parsing the valid body and reading it into its type is the baseline: what any server pays for it.
/// </summary>
[MemoryDiagnoser]
public class SpecValidationBenchmarks
{
    public enum Body { Valid1000Rules, Faulty1000Rules, Over3000Rules, UnknownKeys100k }

    [Params(Body.Valid1000Rules, Body.Faulty1000Rules, Body.Over3000Rules, Body.UnknownKeys100k)]
    public Body Kind { get; set; }

    private readonly Json.Schema.JsonSchema _schema = SpecSchemas.RequestBody("applyFimRuleSet", "application/json")!;
    private byte[] _valid = [];
    private byte[] _body = [];

    private static string Rule(string name, int paths) =>
        $$"""{"name":"{{name}}","severity":"high","scope":{"hostnames":["web-*"]},"paths":[{{string.Join(",", Enumerable.Range(0, paths).Select(p => $$"""{"path":"/srv/app/conf{{p}}/*.yaml"}"""))}}],"operations":["write","delete"],"effect":"alert","complianceTags":["pci-dss:11.5"]}""";

    private static byte[] RuleSet(int rules, Func<int, string> name, int paths = 8) =>
        Encoding.UTF8.GetBytes("{\"rules\":[" + string.Join(",", Enumerable.Range(0, rules).Select(i => Rule(name(i), paths))) + "]}");

    [GlobalSetup]
    public void Setup()
    {
        SpecSchemas.Load();
        _valid = RuleSet(1000, i => $"rule-{i}");
        _body = Kind switch
        {
            Body.Valid1000Rules => _valid,
            Body.Faulty1000Rules => RuleSet(1000, i => $"-rule-{i}"),
            Body.Over3000Rules => RuleSet(3000, i => $"rule-{i}", paths: 2),
            _ => Encoding.UTF8.GetBytes("{" + string.Join(",", Enumerable.Range(0, 100_000).Select(i => $"\"k{i}\":0")) + "}"),
        };
    }

    /// <summary>The valid body parsed and read into its type, as the binder does once the body has passed.</summary>
    [Benchmark(Baseline = true)]
    public int ParseAndBind() => JsonSerializer.Deserialize<FimRuleSet>(_valid, PlatformClient.SerializerOptions)!.Rules.Count;

    /// <summary>The body parsed and checked against its schema, violations described.</summary>
    [Benchmark]
    public int ParseAndValidate()
    {
        using var document = JsonDocument.Parse(_body);
        return SpecSchemas.Validate(_schema, document.RootElement).Count;
    }
}
