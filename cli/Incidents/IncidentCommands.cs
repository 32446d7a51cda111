using System.Globalization;

namespace Platform.Cli.Incidents;

/// <summary><c>incidents list|get|watch</c> and the lifecycle: <c>ack</c>, <c>resolve</c>, <c>archive</c>, <c>reopen</c>, one by one or by filter.</summary>
public static class IncidentCommands
{
    public static Command Incidents(CliHost host) =>
        new Command("incidents", "Incidents the API detected: list, follow, acknowledge, resolve, archive.")
            .With(
                List(host),
                Get(host),
                Watch(host),
                Change(host, "ack", IncidentStatus.Acknowledged, "Acknowledge incidents: someone is on it."),
                Change(host, "resolve", IncidentStatus.Resolved, "Resolve incidents (needs --resolution and --reason)."),
                Change(host, "archive", IncidentStatus.Archived, "Archive incidents (their pinned flight data is released after the retention period)."),
                Change(host, "reopen", IncidentStatus.Open, "Open incidents again (needs --reason)."),
                Assign(host),
                Note(host),
                Notes(host));

    private static Command List(CliHost host)
    {
        var filters = new IncidentFilters();
        var sort = SpecValues<IncidentSort>.One("--sort", "The order: -lastSeen is newest first; changed, the default, most recently changed last");
        return filters.AddTo(new Command("list", "Incidents that match, most recently changed last (or in the --sort order).")).With(sort).Lists<Incident>(
            host,
            async (client, run, cursor, limit, cancellationToken) => await filters.ListAsync(client, run, limit, cursor, cancellationToken, run.Get(sort)),
            ("id", i => i.Id),
            ("severity", i => Output.Spec(i.Severity)),
            ("status", i => Output.Spec(i.Status)),
            ("category", i => Output.Spec(i.Category)),
            ("where", Where),
            ("last seen", i => Output.Time(i.LastSeen)),
            ("summary", i => i.Summary));
    }

    private static Command Get(CliHost host)
    {
        var id = IncidentIdArgument();
        return new Command("get", "One incident.").With(id).Does(host, async (run, cancellationToken) =>
        {
            var incident = await run.Client().GetIncidentAsync(run.Get(id)!, cancellationToken);
            run.Output.Fields(
                ("id", incident.Id),
                ("category", Output.Spec(incident.Category)),
                ("severity", Output.Spec(incident.Severity)),
                ("status", Output.Spec(incident.Status) + (incident.Resolution is { } resolution ? $" ({Output.Spec(resolution)}: {incident.ResolutionReason})" : "")),
                ("assignee", incident.Assignee),
                ("where", Where(incident)),
                ("image", incident.Resource.Image),
                ("summary", incident.Summary),
                ("techniques", string.Join(", ", incident.Techniques)),
                ("findings", incident.FindingCount.ToString(CultureInfo.InvariantCulture)),
                ("first seen", Output.Time(incident.FirstSeen)),
                ("last seen", Output.Time(incident.LastSeen)),
                ("version", incident.Version.ToString(CultureInfo.InvariantCulture)),
                ("related", incident.RelatedIncidents.Count == 0 ? null : string.Join(", ", incident.RelatedIncidents)),
                ("history", incident.History.Count == 0 ? null : string.Join("; ", incident.History.Select(History))),
                ("bundle", $"platformctl bundle download --incident {incident.Id}"));
            return ExitCodes.Ok;
        });
    }

    /// <summary>One status change: when, from and to, the resolution and reason; a reopen with the resolution it undid.</summary>
    private static string History(IncidentHistoryEntry entry) =>
        $"{Output.Time(entry.At)} {Output.Spec(entry.From)} -> {Output.Spec(entry.To)}"
        + (entry.Resolution is { } resolution ? $" ({Output.Spec(resolution)})" : "")
        + (entry.Reason is { } reason ? $": {reason}" : "")
        + (entry.PreviousResolution is { } previous ? $" [was {Output.Spec(previous)}: {entry.PreviousResolutionReason}]" : "");

    private static Argument<string> IncidentIdArgument() => new("incident") { Description = "The incident's id (inc_...)." };

    private static Command Assign(CliHost host)
    {
        var to = new Option<string?>("--to") { Description = "Who works on it (a name or e-mail address)." };
        var nobody = new Option<bool>("--nobody") { Description = "Unassign it." };
        var incidentId = IncidentIdArgument();
        var command = new Command("assign", "Say who works on an incident.").With(incidentId, to, nobody);
        command.Validators.Add(result =>
        {
            if ((result.GetValue(to) is null) == !result.GetValue(nobody))
                result.AddError("give --to NAME or --nobody.");
        });
        return command.Does(host, async (run, cancellationToken) =>
        {
            var incident = await run.Client().AssignIncidentAsync(new IncidentAssignment { Assignee = run.Get(to) }, run.Get(incidentId)!, cancellationToken: cancellationToken);
            run.Output.Result($"{incident.Id} is {(incident.Assignee is { } who ? "assigned to " + who : "unassigned")}");
            return ExitCodes.Ok;
        });
    }

    private static Command Note(CliHost host)
    {
        var text = new Argument<string>("text") { Description = "The note (what was found, what was done)." };
        var incidentId = IncidentIdArgument();
        return new Command("note", "Add a note to an incident: what was found, what was done.").With(incidentId, text).Does(host, async (run, cancellationToken) =>
        {
            var note = await run.Client().AddIncidentNoteAsync(new IncidentNoteSpec { Text = run.Get(text)! }, run.Get(incidentId)!, cancellationToken);
            run.Output.Result($"noted {note.Id} on {run.Get(incidentId)}");
            return ExitCodes.Ok;
        });
    }

    private static Command Notes(CliHost host)
    {
        var incidentId = IncidentIdArgument();
        return new Command("notes", "An incident's notes, oldest first.").With(incidentId).Lists<IncidentNote>(
            host,
            async (client, run, cursor, limit, cancellationToken) => await client.ListIncidentNotesAsync(run.Get(incidentId)!, limit, cursor, cancellationToken),
            ("at", n => Output.Time(n.CreatedAt)),
            ("by", n => n.Author),
            ("note", n => n.Text));
    }

    private static Command Watch(CliHost host)
    {
        var filters = new IncidentFilters();
        var stateFile = new Option<FileInfo?>("--state-file")
        {
            Description = "Keep the cursor in this file: the next run goes on from where this one stopped (nothing missed, nothing repeated).",
        };
        var interval = new Option<TimeSpan?>("--interval") { Description = "How long to wait between polls when nothing is new (default 00:00:05)." };
        var once = new Option<bool>("--once") { Description = "Print what is new since the cursor and exit (for a scheduled job)." };
        return filters.AddTo(new Command("watch", "Follow new and changed incidents as they happen (one line each; JSON Lines with -o json)."))
            .With(stateFile, interval, once)
            .Does(host, async (run, cancellationToken) =>
            {
                var client = run.Client();
                var state = run.Get(stateFile);
                var cursor = state is { Exists: true } ? (await File.ReadAllTextAsync(state.FullName, cancellationToken)).Trim() : null;
                var wait = run.Get(interval) ?? host.DefaultPollInterval;
                if (wait < TimeSpan.FromMilliseconds(100))
                    throw new CliException("--interval must be at least 00:00:00.1.", ExitCodes.Usage);
                var outage = 0;
                try
                {
                    while (true)
                    {
                        IncidentPage page;
                        try
                        {
                            page = await filters.ListAsync(client, run, 200, string.IsNullOrEmpty(cursor) ? null : cursor, cancellationToken);
                            outage = 0;
                        }
                        catch (Exception ex) when (!run.Get(once) && IsTransient(ex) && !cancellationToken.IsCancellationRequested)
                        {
                            // A watcher outlives API restarts and network trouble: it waits (up to a minute) and asks
                            // again from the same cursor, so nothing is missed. Refusals (401, 403, 400) still end it.
                            var pause = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(1).Ticks, host.RetryDelay.Ticks << Math.Min(++outage, 16)));
                            await host.Error.WriteLineAsync($"watch: the API is not answering ({Reason(ex)}); polling again in {pause.TotalSeconds:0.#} s");
                            await Task.Delay(pause, cancellationToken);
                            continue;
                        }

                        // JSON Lines: each incident exactly as the page the API answered holds it.
                        if (run.Output.Json)
                            run.Output.AnswerItems();
                        else
                        {
                            foreach (var incident in page.Items)
                                run.Output.Text(WatchLine(incident));
                        }

                        // What was printed and the cursor past it are saved together, whatever Ctrl+C interrupts: a
                        // restarted watcher may print a page again, never skip one.
                        await host.Out.FlushAsync(CancellationToken.None);
                        cursor = page.ResumeCursor;
                        if (state is not null)
                            await SaveCursorAsync(state, cursor, cancellationToken);
                        if (page.NextCursor is not null)
                            continue;
                        if (run.Get(once))
                            return ExitCodes.Ok;
                        await Task.Delay(wait, cancellationToken);
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // Ctrl+C (or the caller) ends a watch; the cursor is saved after every page.
                    return ExitCodes.Ok;
                }
            });
    }

    private static bool IsTransient(Exception ex) =>
        ex is HttpRequestException or IOException || ex is PlatformApiException { StatusCode: 408 or 429 or >= 500 };

    private static string Reason(Exception ex) => ex is PlatformApiException api ? $"HTTP {api.StatusCode}" : ex.Message;

    private static async Task SaveCursorAsync(FileInfo state, string cursor, CancellationToken cancellationToken)
    {
        var temporary = state.FullName + ".tmp";
        await File.WriteAllTextAsync(temporary, cursor, CancellationToken.None);
        File.Move(temporary, state.FullName, overwrite: true);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static string WatchLine(Incident incident) =>
        $"{Output.Time(incident.UpdatedAt)} {(incident.Version == 1 ? "new    " : "changed")} {incident.Id} {Output.Spec(incident.Severity)} {Output.Spec(incident.Status)} "
        + $"{Output.Spec(incident.Category)} {Where(incident)}: {incident.Summary}";

    private static string Where(Incident incident) =>
        incident.Resource.ContainerId is { } container
            ? $"{incident.Resource.Hostname}/{incident.Resource.ContainerName ?? container}"
            : incident.Resource.Hostname;

    private static Command Change(CliHost host, string name, IncidentStatus status, string description)
    {
        var filters = new IncidentFilters();
        var ids = new Argument<string[]>("incidents") { Description = "Incident ids; or none, and filters to change every incident that matches.", Arity = ArgumentArity.ZeroOrMore };
        var allMatching = new Option<bool>("--all-matching") { Description = "Without ids and filters: change every incident (the lifecycle allows)." };
        var dryRun = new Option<bool>("--dry-run") { Description = "With filters: count what would change; exit 3 if anything would." };
        var reason = new Option<string?>("--reason") { Description = "Why (needed to resolve or reopen; kept in the audit log)." };
        var resolution = SpecValues<IncidentResolution>.One("--resolution", "How it ended, to resolve");
        var command = filters.AddTo(new Command(name, description)).With(ids, allMatching, dryRun, reason, resolution);
        return command.Does(host, async (run, cancellationToken) =>
        {
            var change = new IncidentStatusChange { Status = status, Reason = run.Get(reason), Resolution = run.Get(resolution) };
            var given = run.Get(ids) ?? [];
            var filter = filters.ToFilter(run);
            if (given.Length > 0)
            {
                if (filter is not null || run.Get(allMatching) || run.Get(dryRun))
                    throw new CliException("give incident ids or filters (--dry-run, --all-matching), not both.", ExitCodes.Usage);
                return await ChangeEachAsync(run, given, change, cancellationToken);
            }

            if (filter is null && !run.Get(allMatching))
                throw new CliException($"give incident ids, filters (e.g. --severity low --status open), or --all-matching.", ExitCodes.Usage);
            return await ChangeMatchingAsync(run, filter ?? new IncidentFilter(), change, run.Get(dryRun), cancellationToken);
        });
    }

    /// <summary>Each incident changed on its own; one refused does not stop the others (the run then exits 1).</summary>
    private static async Task<int> ChangeEachAsync(Invocation run, string[] ids, IncidentStatusChange change, CancellationToken cancellationToken)
    {
        var client = run.Client();
        var failed = 0;
        foreach (var id in ids)
        {
            try
            {
                var incident = await client.ChangeIncidentStatusAsync(change, id, cancellationToken: cancellationToken);
                if (run.Output.Json)
                    run.Output.Answer();
                else
                    run.Output.Text($"{incident.Id} is {Output.Spec(incident.Status)}");
            }
            catch (PlatformApiException ex)
            {
                failed++;
                await run.Host.Error.WriteAsync($"{id}: " + ProblemText.Describe(ex));
            }
        }

        return failed == 0 ? ExitCodes.Ok : ExitCodes.Error;
    }

    /// <summary>Every matching incident, in as many requests as it takes (each changes at most 1,000).</summary>
    private static async Task<int> ChangeMatchingAsync(Invocation run, IncidentFilter filter, IncidentStatusChange change, bool dryRun, CancellationToken cancellationToken)
    {
        var client = run.Client();
        var changed = 0;
        IncidentBulkResult result;
        do
        {
            result = await client.ChangeIncidentsInBulkAsync(new IncidentBulkChange { Filter = filter, Change = change, DryRun = dryRun }, cancellationToken);
            changed += result.Changed;
        }
        while (!dryRun && result.Remaining > 0 && result.Changed > 0);

        // Several requests summed up: platformctl's own document, in the shape of one answer.
        if (run.Output.Json)
            run.Output.Document(new IncidentBulkResult { DryRun = dryRun, Matched = result.Matched, Changed = changed, Skipped = result.Skipped, Remaining = result.Remaining });
        else
            run.Output.Text($"{(dryRun ? "would change" : "changed")} {changed} of {result.Matched} matching incident(s) to {Output.Spec(change.Status)}; "
                + $"{result.Skipped} skipped (the lifecycle does not allow it, or they are {Output.Spec(change.Status)} already)"
                + (dryRun && result.Remaining > 0 ? $"; {result.Remaining} more past the first 1,000" : ""));
        return dryRun && changed + result.Remaining > 0 ? ExitCodes.Changes : ExitCodes.Ok;
    }

    /// <summary>The filters openapi.yaml gives the incident list and bulk changes.</summary>
    private sealed class IncidentFilters
    {
        public Option<IncidentStatus[]> Status { get; } = SpecValues<IncidentStatus>.Many("--status", "Only these statuses");
        public Option<IncidentSeverity[]> Severity { get; } = SpecValues<IncidentSeverity>.Many("--severity", "Only these severities");
        public Option<IncidentCategory[]> Category { get; } = SpecValues<IncidentCategory>.Many("--category", "Only these categories");
        public Option<string?> AgentId { get; } = new("--agent") { Description = "Only this agent (agt_...)." };
        public Option<string?> Hostname { get; } = new("--host") { Description = "Only this host name." };
        public Option<string?> ContainerId { get; } = new("--container") { Description = "Only this container id." };
        public Option<DateTimeOffset?> Since { get; } = new("--since") { Description = "Last seen at or after (RFC 3339)." };
        public Option<DateTimeOffset?> Until { get; } = new("--until") { Description = "Last seen before (RFC 3339)." };

        public Command AddTo(Command command) => command.With(Status, Severity, Category, AgentId, Hostname, ContainerId, Since, Until);

        public Task<IncidentPage> ListAsync(PlatformClient client, Invocation run, int limit, string? cursor, CancellationToken cancellationToken, IncidentSort? sort = null) =>
            client.ListIncidentsAsync(
                limit, cursor, NullIfEmpty(run.Get(Status)), NullIfEmpty(run.Get(Category)), NullIfEmpty(run.Get(Severity)),
                run.Get(AgentId), run.Get(Hostname), run.Get(ContainerId), run.Get(Since), run.Get(Until), sort: sort, cancellationToken: cancellationToken);

        /// <summary>The bulk filter; null when no filter was given.</summary>
        public IncidentFilter? ToFilter(Invocation run)
        {
            var filter = new IncidentFilter
            {
                Status = NullIfEmpty(run.Get(Status)),
                Severity = NullIfEmpty(run.Get(Severity)),
                Category = NullIfEmpty(run.Get(Category)),
                AgentId = run.Get(AgentId),
                Hostname = run.Get(Hostname),
                ContainerId = run.Get(ContainerId),
                Since = run.Get(Since),
                Until = run.Get(Until),
            };
            return filter is { Status: null, Severity: null, Category: null, AgentId: null, Hostname: null, ContainerId: null, Since: null, Until: null }
                ? null
                : filter;
        }

        private static T[]? NullIfEmpty<T>(T[]? values) => values is { Length: > 0 } ? values : null;
    }
}
