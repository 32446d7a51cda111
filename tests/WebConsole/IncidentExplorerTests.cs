using System.Security.Cryptography;
using Microsoft.Playwright;
using Platform.Bundles;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Platform.Tests.WebConsole;

/// <summary>The api of <see cref="IncidentExplorerTests"/>: FIM rules over the seed's paths, then the real agent's simulate, once.</summary>
public sealed class SeededConsoleApi : IAsyncLifetime
{
    public ConsoleApi Api { get; } = new();

    public string AgentId { get; private set; } = "";

    public Incident Exfiltration { get; private set; } = default!;

    public Incident Shell { get; private set; } = default!;

    public FimRule ConfigRule { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        var admin = Api.Admin();
        ConfigRule = await admin.CreateFimRuleAsync(new FimRuleSpec
        {
            Name = "app-config", Severity = FimSeverity.High, Scope = new FimScope { Hostnames = ["sim-*"] },
            Paths = [new FimPath { Path = "/srv/app", Recursive = true }], Operations = [FimOperation.Read, FimOperation.Write], Effect = FimEffect.Alert,
        });
        // A second version, so that the rule's page has a change to show.
        ConfigRule = await admin.ReplaceFimRuleAsync(new FimRuleSpec
        {
            Name = "app-config", Severity = FimSeverity.Critical, Scope = new FimScope { Hostnames = ["sim-*"] },
            Paths = [new FimPath { Path = "/srv/app", Recursive = true }], Operations = [FimOperation.Read, FimOperation.Write], Effect = FimEffect.Alert,
        }, ConfigRule.Id);
        AgentId = await Api.SimulateAsync("sim-01");
        var incidents = (await admin.ListIncidentsAsync(agentId: AgentId)).Items;
        Exfiltration = incidents.Single(i => i.Category == IncidentCategory.DataExfiltration);
        Shell = incidents.Single(i => i.Category == IncidentCategory.ShellFromServer);
    }

    public async Task DisposeAsync() => await Api.DisposeAsync();
}

/// <summary>
/// Incident Explorer driven in a real Chromium against the real api, on the data of the real agent's simulate: what a
/// responder does during an incident, what an analyst may not do, and what each page shows. Each test writes its
/// page's screenshot (TestResults/console/).
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class IncidentExplorerTests(ConsoleBrowser browser, SeededConsoleApi seeded, ITestOutputHelper output) : IClassFixture<SeededConsoleApi>
{
    private ConsoleApi Api => seeded.Api;

    [SkippableFact]
    public async Task The_incident_page_shows_the_risk_context_the_process_tree_and_the_read_of_passwd_before_the_curl()
    {
        await using var session = await browser.OpenAsync(Api, output);
        await session.SignInAsync(await Api.TokenFor(Role.Analyst), $"/console/incidents/{seeded.Exfiltration.Id}");
        var page = session.Page;
        await page.Locator(".timeline .events li").First.WaitForAsync();

        // Risk context: privileged, the secret by name, the CVE, mysql and vault.
        Assert.Equal("true", await page.Locator("#risk-privileged").GetAttributeAsync("data-privileged"));
        Assert.Equal(["MYSQL_PASSWORD"], await page.Locator(".risk .secret-name").AllInnerTextsAsync());
        Assert.Contains("CVE-2017-5638", await page.Locator(".risk .cve").AllInnerTextsAsync());
        Assert.Contains("mysql", await page.Locator(".risk li[data-service]").AllInnerTextsAsync().ContinueWith(t => string.Join("\n", t.Result)));
        Assert.NotEqual(0, await page.Locator(".risk li[data-service='mysql']").CountAsync());
        Assert.NotEqual(0, await page.Locator(".risk li[data-service='vault']").CountAsync());

        // The process tree: java -> sh -> {cp, curl}.
        var sh = page.Locator("li[data-process='java'] > ul > li[data-process='sh']");
        Assert.Equal(1, await sh.CountAsync());
        Assert.Equal(["cp", "curl"], (await sh.Locator(":scope > ul > li").EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.process)")).Order());

        // The timeline: the read of /etc/passwd comes before curl starts, and both are marked as the attacker's steps.
        var lines = await page.Locator(".timeline .events li").AllInnerTextsAsync();
        var read = lines.ToList().FindIndex(l => l.Contains("cp read /etc/passwd", StringComparison.Ordinal));
        var curl = lines.ToList().FindIndex(l => l.Contains("curl (pid 4232) started", StringComparison.Ordinal));
        Assert.True(read >= 0 && curl > read, $"read at {read}, curl at {curl}:\n{string.Join("\n", lines)}");
        Assert.NotEqual(0, await page.Locator(".timeline li[data-step='true']").CountAsync());

        // Searching narrows the timeline to what matches.
        await page.Locator("#timeline-search").FillAsync("203.0.113.9");
        var found = await page.Locator(".timeline .events li").AllInnerTextsAsync();
        Assert.NotEmpty(found);
        Assert.All(found, l => Assert.Contains("203.0.113.9", l, StringComparison.Ordinal));

        await page.Locator("#timeline-search").FillAsync("");
        await session.Screenshot("incident");
        session.AssertNothingWentWrong();
    }

    [SkippableFact]
    public async Task A_responder_acknowledges_then_resolves_with_a_reason_and_a_stale_version_shows_the_conflict()
    {
        await using var session = await browser.OpenAsync(Api, output);
        await session.SignInAsync(await Api.TokenFor(Role.Responder), $"/console/incidents/{seeded.Shell.Id}");
        var page = session.Page;
        await page.Locator("button[data-action='Acknowledge']").WaitForAsync();

        // Someone else assigns the incident while the page shows the version before it.
        var current = await Api.Admin().GetIncidentAsync(seeded.Shell.Id);
        await Api.Admin().AssignIncidentAsync(new IncidentAssignment { Assignee = "bob" }, current.Id, $"\"{current.Version}\"");
        session.Problems.Expect("412");
        await page.Locator("button[data-action='Acknowledge']").ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm: acknowledged" }).ClickAsync();
        await page.Locator(".conflict").WaitForAsync();
        Assert.Contains("changed this incident", await page.Locator(".conflict").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("412", await page.Locator(".problem").InnerTextAsync(), StringComparison.Ordinal);
        await session.Screenshot("incident-conflict");
        Assert.Equal(IncidentStatus.Open, (await Api.Admin().GetIncidentAsync(seeded.Shell.Id)).Status);

        // Reloaded, the same action goes through; then resolve, with a reason.
        await page.GetByRole(AriaRole.Button, new() { Name = "Reload the incident" }).ClickAsync();
        await page.Locator("header[data-version='" + (current.Version + 1) + "']").WaitForAsync();
        await page.Locator("button[data-action='Acknowledge']").ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm: acknowledged" }).ClickAsync();
        await page.Locator("header[data-status='acknowledged']").WaitForAsync();
        await page.Locator("button[data-action='Resolve']").ClickAsync();
        await page.Locator("#resolution").SelectOptionAsync("true-positive");
        await page.Locator("#status-reason").FillAsync("web shell removed, image rebuilt");
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm: resolved" }).ClickAsync();
        await page.Locator("header[data-status='resolved']").WaitForAsync();

        var resolved = await Api.Admin().GetIncidentAsync(seeded.Shell.Id);
        Assert.Equal((IncidentStatus.Resolved, IncidentResolution.TruePositive, "web shell removed, image rebuilt"), (resolved.Status, resolved.Resolution, resolved.ResolutionReason));
        Assert.Contains("web shell removed", await page.Locator(".history").InnerTextAsync(), StringComparison.Ordinal);
        session.AssertNothingWentWrong();
    }

    [SkippableFact]
    public async Task The_bundle_downloads_with_its_hash_the_apis_digest_and_a_verified_signature()
    {
        await using var session = await browser.OpenAsync(Api, output);
        await session.SignInAsync(await Api.TokenFor(Role.Analyst), $"/console/incidents/{seeded.Exfiltration.Id}");
        var page = session.Page;

        var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("#download-bundle").ClickAsync(), new() { Timeout = (float)ConsoleBrowser.Patience.TotalMilliseconds });
        var path = Path.Combine(Path.GetTempPath(), $"console-bundle-{Guid.NewGuid():N}.zip");
        try
        {
            await download.SaveAsAsync(path);
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(path)));
            Assert.Equal(sha256, await page.Locator("#bundle-sha256").InnerTextAsync());
            Assert.Equal("true", await page.Locator("#bundle-digest").GetAttributeAsync("data-ok"));
            Assert.Equal("true", await page.Locator("#bundle-manifest").GetAttributeAsync("data-ok"));
            Assert.StartsWith("verified", await page.Locator("#bundle-signature").InnerTextAsync(), StringComparison.Ordinal);

            // The file saved is the bundle the manifest describes, checked as platformctl checks it.
            var check = BundleVerifier.Verify(path, TrustedKey.FromApi(await Api.Admin().ListSigningKeysAsync()));
            Assert.True(check.Verified, string.Join("\n", check.Problems));
            Assert.True(check.SignatureVerified);
        }
        finally
        {
            File.Delete(path);
        }

        await session.Screenshot("incident-bundle");
        session.AssertNothingWentWrong();
    }

    [SkippableFact]
    public async Task An_analyst_sees_no_lifecycle_action_and_the_api_refuses_the_call_anyway()
    {
        var analyst = await Api.TokenFor(Role.Analyst);
        await using var session = await browser.OpenAsync(Api, output);
        await session.SignInAsync(analyst, $"/console/incidents/{seeded.Exfiltration.Id}");
        var page = session.Page;
        await page.Locator(".lifecycle").WaitForAsync();

        Assert.Equal("analyst", await page.Locator(".who .role").InnerTextAsync());
        Assert.Equal(0, await page.Locator(".lifecycle button").CountAsync());
        Assert.Equal(0, await page.Locator("#note").CountAsync());
        var incident = await Api.Admin().GetIncidentAsync(seeded.Exfiltration.Id);
        await ProblemAssert.Refused(403, () => Api.Client(analyst).ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Acknowledged }, incident.Id, $"\"{incident.Version}\""));
        session.AssertNothingWentWrong();
    }

    [SkippableFact]
    public async Task A_FIM_alert_is_acknowledged_from_the_alerts_page_and_its_rule_shows_the_change_between_versions()
    {
        await using var session = await browser.OpenAsync(Api, output);
        await session.SignInAsync(await Api.TokenFor(Role.Responder), "/console/fim/alerts?path=/srv/app");
        var page = session.Page;
        var button = page.Locator("button[data-acknowledge]").First;
        var alertId = await button.GetAttributeAsync("data-acknowledge");
        await button.ClickAsync();
        await page.Locator($"tr[data-alert='{alertId}'][data-acknowledged='true']").WaitForAsync();
        Assert.NotNull((await Api.Admin().ListFimAlertsAsync(pathPrefix: "/srv/app", limit: 200)).Items.Single(a => a.Id == alertId).AcknowledgedAt);
        await session.Screenshot("fim-alerts");

        await page.Locator($"a[href='fim/rules/{seeded.ConfigRule.Id}']").First.ClickAsync();
        await page.Locator("li[data-version='2'] table.diff").WaitForAsync();
        var diff = await page.Locator("li[data-version='2'] table.diff").InnerTextAsync();
        Assert.Contains("severity", diff, StringComparison.Ordinal);
        Assert.Contains("critical", diff, StringComparison.Ordinal);
        await session.Screenshot("fim-rule");
        session.AssertNothingWentWrong();
    }

    [SkippableFact]
    public async Task The_audit_log_lists_what_was_done_for_an_admin_and_is_not_offered_to_a_responder()
    {
        await using (var responder = await browser.OpenAsync(Api, output))
        {
            await responder.SignInAsync(await Api.TokenFor(Role.Responder));
            Assert.Equal(0, await responder.Page.Locator("nav a[href='audit']").CountAsync());
            responder.AssertNothingWentWrong();
        }

        await using var session = await browser.OpenAsync(Api, output);
        await session.SignInAsync(Api.AdminSecret, "/console/audit?targetType=fim-rule");
        var rows = session.Page.Rows("audit");
        await rows.First.WaitForAsync();
        Assert.All(await rows.AllInnerTextsAsync(), row => Assert.Contains("fim-rule", row, StringComparison.Ordinal));
        await session.Screenshot("audit");
        session.AssertNothingWentWrong();
    }

    [SkippableFact]
    public async Task The_fleet_lists_a_silent_agent_first_says_what_agents_cannot_do_and_which_are_decommissioned()
    {
        var (chatty, chattyEnrolled) = await Api.EnrolledAgent("chatty-01");
        await chatty.RecordAgentHeartbeatAsync(new AgentHeartbeat { AgentVersion = "1.0.0" }, chattyEnrolled.Agent.Id);
        await Api.EnrolledAgent("silent-01");
        var (retired, retiredEnrolled) = await Api.EnrolledAgent("retired-01");
        await retired.RecordAgentHeartbeatAsync(new AgentHeartbeat { AgentVersion = "1.0.0" }, retiredEnrolled.Agent.Id);
        await Api.Admin().DecommissionAgentAsync(retiredEnrolled.Agent.Id);

        await using var session = await browser.OpenAsync(Api, output);
        await session.SignInAsync(await Api.TokenFor(Role.Analyst), "/console/fleet");
        var rows = session.Page.Rows("fleet");
        await rows.First.WaitForAsync();
        var hosts = await session.Page.Locator("table.fleet tr[data-hostname]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.hostname)");

        Assert.Equal("silent-01", hosts[0]);
        Assert.Contains("never", await rows.First.InnerTextAsync(), StringComparison.Ordinal);
        Assert.True(Array.IndexOf(hosts, "silent-01") < Array.IndexOf(hosts, "chatty-01"), string.Join(", ", hosts));
        var retiredRow = await session.Page.Locator("table.fleet tr[data-hostname='retired-01']").InnerTextAsync();
        Assert.Contains("decommissioned", retiredRow, StringComparison.Ordinal);
        Assert.Contains("credential revoked", retiredRow, StringComparison.Ordinal);
        Assert.DoesNotContain("decommissioned", await rows.First.InnerTextAsync(), StringComparison.Ordinal);
        await session.Screenshot("fleet");
        session.AssertNothingWentWrong();
    }

    [SkippableFact]
    public async Task The_queue_is_newest_first_with_counts_per_status_and_its_filters_in_the_address()
    {
        await using var session = await browser.OpenAsync(Api, output);
        await session.SignInAsync(await Api.TokenFor(Role.Analyst));
        var page = session.Page;
        await page.Locator("[data-count='total']").WaitForAsync();
        var counts = await Api.Admin().CountIncidentsAsync();
        Assert.Equal($"all {counts.Total}", await page.Locator("[data-count='total']").InnerTextAsync());
        Assert.Equal($"open {counts.Open}", await page.Locator("[data-count='open']").InnerTextAsync());

        var newest = (await Api.Admin().ListIncidentsAsync(sort: IncidentSort.LastSeenDescending, limit: 1)).Items[0];
        Assert.Equal(newest.Id, await page.Locator("table.incidents tr[data-incident]").First.GetAttributeAsync("data-incident"));

        // A filter goes into the address: pasted elsewhere, it opens the same queue.
        await page.Locator("input[name='severity'][value='critical']").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
        await page.WaitForURLAsync("**/console/incidents?severity=critical");
        await page.Locator("table.incidents[aria-busy='false']").WaitForAsync();
        Assert.All(await page.Locator("table.incidents tr[data-incident] .sev").AllInnerTextsAsync(), severity => Assert.Equal("critical", severity));
        await session.Screenshot("incidents-filtered");
        session.AssertNothingWentWrong();
    }
}
