using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Platform.Api.Agents;
using Platform.Api.Auth;
using Platform.Api.Fim;
using Platform.Api.Forensics;
using Platform.Api.Hosting;
using Platform.Api.Http;
using Platform.Api.Incidents;
using Platform.Api.Storage;
using Platform.Api.Telemetry;
using Platform.Api.Webhooks;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Operations;

/// <summary>
/// api/appsettings.json, as the build copies it beside the api: every section the api reads is there, every setting of
/// it is named, and every value is the default the code has without the file (so the file documents, and changes nothing).
/// </summary>
public sealed class AppSettingsTests
{
    /// <summary>Each options class the api binds, by its section.</summary>
    public static readonly Dictionary<string, Type> Sections = new()
    {
        [StorageOptions.Section] = typeof(StorageOptions),
        [RequestLimits.Section] = typeof(RequestLimits),
        [RateLimitOptions.Section] = typeof(RateLimitOptions),
        [IngestOptions.Section] = typeof(IngestOptions),
        [AuthOptions.Section] = typeof(AuthOptions),
        [Platform.Api.Enrollment.EnrollmentOptions.Section] = typeof(Platform.Api.Enrollment.EnrollmentOptions),
        [AgentsOptions.Section] = typeof(AgentsOptions),
        [FimOptions.Section] = typeof(FimOptions),
        [TelemetryOptions.Section] = typeof(TelemetryOptions),
        [TelemetryFeature.RedactionSection] = typeof(RedactionOptions),
        [ForensicsOptions.Section] = typeof(ForensicsOptions),
        [SigningOptions.Section] = typeof(SigningOptions),
        [DetectionOptions.Section] = typeof(DetectionOptions),
        [WebhookOptions.Section] = typeof(WebhookOptions),
        [ForwardedHeadersSettings.Section] = typeof(ForwardedHeadersSettings),
        [Platform.Api.Observability.ObservabilityOptions.Section] = typeof(Platform.Api.Observability.ObservabilityOptions),
    };

    private static string FilePath
    {
        get
        {
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // tests/bin/<configuration>/net10.0/
            return Path.Combine(Repository.Root, "api", "bin", configuration, "net10.0", "appsettings.json");
        }
    }

    private static IConfigurationRoot File() => new ConfigurationBuilder().AddJsonFile(FilePath, optional: false).Build();

    public static TheoryData<string> SectionNames => [.. Sections.Keys];

    [Theory]
    [MemberData(nameof(SectionNames))]
    public void Every_value_in_the_file_is_the_default(string section)
    {
        var type = Sections[section];
        var defaults = Activator.CreateInstance(type)!;
        var bound = Activator.CreateInstance(type)!;
        File().GetSection(section).Bind(bound);

        Assert.Equal(JsonSerializer.Serialize(defaults, type), JsonSerializer.Serialize(bound, type));
    }

    [Theory]
    [MemberData(nameof(SectionNames))]
    public void Every_setting_of_a_section_is_in_the_file(string section)
    {
        var text = System.IO.File.ReadAllText(FilePath);
        Assert.Contains($"\"{section.Split(':')[^1]}\"", text, StringComparison.Ordinal);
        // A setting without a default (a connection string, a key) or a list added to the built-in one is named in a comment.
        foreach (var setting in Settable(Sections[section]))
            Assert.Contains(setting.Name, text, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_platform_setting_in_the_file_is_one_the_api_reads()
    {
        var unknown = File().GetSection("Platform").AsEnumerable(makePathsRelative: false)
            .Select(entry => entry.Key)
            .Where(key => key != "Platform" && key != DataDirectory.Setting && !Known(key))
            .ToList();

        Assert.Empty(unknown);
        Assert.Equal("data", File()[DataDirectory.Setting]); // the code's default (DataDirectory.PathFrom)
    }

    [Fact]
    public void The_file_keeps_the_framework_request_lines_off()
    {
        Assert.Equal("Warning", File()["Logging:LogLevel:Microsoft.AspNetCore"]);
        Assert.Null(File()["urls"]); // a value here would win over ASPNETCORE_URLS
    }

    private static bool Known(string key)
    {
        var section = Sections.Keys.FirstOrDefault(s => key == s || key.StartsWith(s + ":", StringComparison.Ordinal));
        if (section is null)
            return false;
        var rest = key[section.Length..].TrimStart(':');
        return rest.Length == 0 || Settable(Sections[section]).Any(p => p.Name == rest.Split(':')[0]);
    }

    private static IEnumerable<PropertyInfo> Settable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true });
}
