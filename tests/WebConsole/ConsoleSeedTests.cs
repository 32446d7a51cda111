using Platform.Contracts;

namespace Platform.Tests.WebConsole;

/// <summary>What the page tests start from: the struts2 simulation (a web server's shell that exfiltrates /etc/passwd) seen by an analyst token, as the console will see it.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleSeedTests(ConsoleApi api) : IClassFixture<ConsoleApi>
{
    [Fact]
    public async Task The_struts2_seed_gives_an_analyst_the_exfiltration_incident_with_its_risk_context()
    {
        var agentId = await api.SimulateAsync("seed-01", "struts2");
        var analyst = api.Client(await api.TokenFor(Role.Analyst));

        var incidents = (await analyst.ListIncidentsAsync(agentId: agentId)).Items;
        Assert.Equal([IncidentCategory.DataExfiltration, IncidentCategory.ShellFromServer], incidents.Select(i => i.Category).Order());
        var incident = incidents.Single(i => i.Category == IncidentCategory.DataExfiltration);
        Assert.Equal(IncidentSeverity.Critical, incident.Severity);
        var risk = await analyst.GetIncidentRiskAsync(incident.Id);
        Assert.Equal(["MYSQL_PASSWORD"], risk.SecretEnvironment);
        Assert.Equal(["mysql", "vault"], risk.Services.Where(s => s.Sensitive).Select(s => s.Service).Order());
        Assert.Contains(risk.Reasons, r => r.Factor == RiskReasonFactor.ImageVulnerabilities && r.Detail.Contains("CVE-2017-5638", StringComparison.Ordinal));
        Assert.Equal(("7f9c2ba4e88f", true), (risk.Container!.Id, risk.Container.Privileged));
        Assert.Contains(risk.Reasons, r => r.Factor == RiskReasonFactor.Privileged);
        api.AssertServedToTheSpec(); // the agent's exchanges
    }
}
