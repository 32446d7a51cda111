using Platform.Contracts;
using Platform.Tests.Infrastructure;
using Platform.Tests.Sensor;

namespace Platform.Tests.Enforcement;

/// <summary>
/// The real agent keeping a <see cref="ProtectedTree"/>'s rules: each rule made a <c>prevent</c> rule in the api for the
/// hosts <c>name-*</c> (at <paramref name="severity"/>, else the rule's), then the agent started with the kernel sensor,
/// the FIM watcher and the inode attributes in force, delivering what it has every 20 ms.
/// </summary>
public static class PreventingAgent
{
    public static async Task<SensorAgent> StartAsync(PlatformApi api, string name, IEnumerable<FimRule> rules, FimSeverity? severity = null)
    {
        foreach (var rule in rules)
        {
            await api.Admin().CreateFimRuleAsync(new FimRuleSpec
            {
                Name = $"{rule.Name}-{name}",
                Severity = severity ?? rule.Severity,
                Scope = new FimScope { Hostnames = [name + "-*"] },
                Paths = rule.Paths,
                Operations = rule.Operations,
                Effect = FimEffect.Prevent,
                AllowAppend = rule.AllowAppend,
            });
        }

        return await SensorAgent.StartAsync(api, name, new Dictionary<string, string>
        {
            ["Platform__Agent__WatchFiles"] = "true",
            ["Platform__Agent__Enforcement__Mode"] = "inode-attributes",
            ["Platform__Agent__LingerMilliseconds"] = "20",
        });
    }
}
