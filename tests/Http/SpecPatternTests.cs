using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Platform.Api.Http;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Http;

/// <summary>
/// Parameter patterns are matched in time linear in the value and with no timeout: a timeout measures the machine's
/// load, not the input, and under CI load it turned a valid <c>agentId</c> into a 500.
/// </summary>
public sealed class SpecPatternTests
{
    [Fact]
    public void A_value_that_would_backtrack_for_ever_is_refused_as_bad_input_not_a_timeout()
    {
        var value = new string('a', 4096) + "!";

        var refused = Assert.Throws<BadHttpRequestException>(() => SpecParameter.Check(value, "name", 8192, "^(a+)+$"));

        Assert.StartsWith("Parameter 'name' must match", refused.Message, StringComparison.Ordinal);
        Assert.Equal(value[..10], SpecParameter.Check(value[..10], "name", 8192, "^(a+)+$"));
    }

    [Fact]
    public void Every_pattern_in_openapi_yaml_is_one_the_linear_engine_takes()
    {
        var patterns = File.ReadLines(Path.Combine(Repository.Root, "openapi.yaml"))
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("pattern: ", StringComparison.Ordinal))
            .Select(l => l["pattern: ".Length..].Trim())
            .Select(p => p.StartsWith('"') ? Unquoted(p[1..^1]) : p.Trim('\''))
            .Distinct(StringComparer.Ordinal)
            .ToList();

        Assert.NotEmpty(patterns);
        Assert.All(patterns, p => _ = new Regex(p, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking));
    }

    /// <summary>A YAML double-quoted scalar's text (openapi.yaml's patterns escape only backslashes and quotes).</summary>
    private static string Unquoted(string quoted) => Regex.Replace(quoted, @"\\(.)", m => m.Groups[1].Value);
}
