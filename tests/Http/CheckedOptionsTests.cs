using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Platform.Api.Incidents;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Http;

/// <summary>
/// Settings are bound and checked when the API starts (AddCheckedOptions: BindConfiguration + ValidateOnStart): a
/// setting that cannot work stops the start, and every bad setting of every section is named, not only the first.
/// </summary>
public abstract class CheckedOptionsTests
{
    public static readonly Dictionary<string, string?> BadSettings = new()
    {
        ["Platform:Detection:HandoffMegabytes"] = "-1",
        ["Platform:Detection:PortScanThreshold"] = "1",
        ["Platform:Webhooks:AllowedNetworks:0"] = "not-a-network",
        ["Platform:Telemetry:RetentionInterval"] = "31.00:00:00",
        ["Platform:Agents:SilenceScanBatch"] = "0",
    };

    public static readonly string[] Expected =
    [
        "Platform:Detection:HandoffMegabytes must be 0 (off) or more.",
        "Platform:Detection:PortScanThreshold must be at least 2.",
        "Platform:Webhooks:AllowedNetworks: 'not-a-network' is not a CIDR (e.g. 10.20.0.0/16).",
        "Platform:Telemetry:RetentionInterval must be between 0 (off) and 30 days.",
        "Platform:Agents:SilenceScanBatch must be between 1 and 10000.",
    ];

    protected abstract PlatformApi BadApi();

    [SkippableFact]
    public void Bad_settings_stop_the_start_naming_every_one()
    {
        using var api = BadApi();
        var refused = Record.Exception(() => api.Http());
        if (refused is SkipException)
            throw refused;
        Assert.NotNull(refused);
        var messages = string.Join("\n", Messages(refused));
        foreach (var expected in Expected)
            Assert.Contains(expected, messages);
    }

    [SkippableFact]
    public void Good_settings_are_bound_and_served_as_options_and_as_themselves()
    {
        using var api = GoodApi();
        using var http = api.Http();
        var options = api.Services.GetRequiredService<IOptions<DetectionOptions>>().Value;
        Assert.Equal(7, options.PortScanThreshold);
        Assert.Same(options, api.Services.GetRequiredService<DetectionOptions>());
    }

    protected abstract PlatformApi GoodApi();

    private static IEnumerable<string> Messages(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            yield return e.Message;
            if (e is OptionsValidationException validation)
            {
                foreach (var failure in validation.Failures)
                    yield return failure;
            }

            if (e is AggregateException aggregate)
            {
                foreach (var message in aggregate.InnerExceptions.SelectMany(Messages))
                    yield return message;
            }
        }
    }
}

public sealed class CheckedOptionsTestsOnSqlite : CheckedOptionsTests
{
    protected override PlatformApi BadApi() => new Bad();

    protected override PlatformApi GoodApi() => new Good();

    private sealed class Bad : SqliteApi
    {
        protected override IDictionary<string, string?> Settings => BadSettings;
    }

    private sealed class Good : SqliteApi
    {
        protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Platform:Detection:PortScanThreshold"] = "7" };
    }
}

public sealed class CheckedOptionsTestsOnPostgres : CheckedOptionsTests
{
    protected override PlatformApi BadApi() => new Bad();

    protected override PlatformApi GoodApi() => new Good();

    private sealed class Bad : PostgresApi
    {
        protected override IDictionary<string, string?> Settings => BadSettings;
    }

    private sealed class Good : PostgresApi
    {
        protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Platform:Detection:PortScanThreshold"] = "7" };
    }
}
