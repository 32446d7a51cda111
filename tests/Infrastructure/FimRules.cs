using Platform.Contracts;

namespace Platform.Tests.Infrastructure;

/// <summary>Rules the FIM tests use, named after what they protect.</summary>
public static class FimRules
{
    public static FimRuleSpec AppConfig(string name = "app-config") => new()
    {
        Name = name,
        Description = "Application configuration on app hosts.",
        Severity = FimSeverity.High,
        Scope = new FimScope { Labels = new Dictionary<string, string> { ["role"] = "app" } },
        Paths = [new FimPath { Path = "/srv/app/application.cfg" }],
        Operations = [FimOperation.Read, FimOperation.Write],
        Effect = FimEffect.Alert,
        ComplianceTags = ["pci-dss:11.5"],
    };

    public static FimRuleSpec PrivateKey(string name = "private-key") => new()
    {
        Name = name,
        Severity = FimSeverity.Critical,
        Scope = new FimScope { Hostnames = ["web-*"] },
        Paths = [new FimPath { Path = "/etc/ssl/private/**" }],
        Operations = [FimOperation.Write, FimOperation.Delete, FimOperation.Rename],
        Effect = FimEffect.Prevent,
    };

    public static FimRuleSpec AuditLogs(string name = "audit-logs") => new()
    {
        Name = name,
        Severity = FimSeverity.Medium,
        Scope = new FimScope { Hostnames = ["*"] },
        Paths = [new FimPath { Path = "/var/log/audit", Recursive = true }],
        Operations = [FimOperation.Write, FimOperation.Delete],
        Effect = FimEffect.Alert,
        AllowAppend = true,
        ComplianceTags = ["pci-dss:10.5.5"],
    };

    /// <summary>
    /// A rule over every path and operation on the hosts a glob names: for tests about storing, listing and folding alerts, which
    /// the api only takes under a rule of the agent's policy that watches their action and path.
    /// </summary>
    public static FimRuleSpec Everywhere(string name, string hostnames) => new()
    {
        Name = name,
        Severity = FimSeverity.High,
        Scope = new FimScope { Hostnames = [hostnames] },
        Paths = [new FimPath { Path = "/", Recursive = true }],
        Operations = [FimOperation.Read, FimOperation.Write, FimOperation.Create, FimOperation.Delete, FimOperation.Metadata, FimOperation.Rename],
        Effect = FimEffect.Alert,
    };

    public static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];
}
