namespace Platform.Api.Incidents;

/// <summary>
/// Incidents, their findings and notes (their SQL; <see cref="IncidentWorkflow"/> changes them with their audit entries,
/// webhook events and data pins). Every change to an incident is made one at a time (PostgreSQL: a
/// transaction-scoped advisory lock; SQLite has one writer) and takes the next <c>change_seq</c>, so the order
/// of change numbers is the order of commits: what a SOAR poller's cursor relies on.
/// </summary>
public sealed partial class IncidentStore(Database database, DetectionOptions options, TimeProvider time)
{
    private const string Columns = """
        incident_id, change_seq, category, severity, status, resolution, resolution_reason, assignee, agent_id, hostname, container_id,
        container_name, image, summary, techniques, finding_count, first_seen, last_seen, created_at, updated_at, version, pin_id, processes, related, history_json
        """;

    private const string Insert = """
        insert into incident (incident_id, change_seq, category, severity, status, resolution, resolution_reason, assignee, agent_id, hostname, container_id,
            container_name, image, summary, techniques, finding_count, first_seen, last_seen, created_at, updated_at, version, pin_id, processes, related, history_json)
        values (@IncidentId, @ChangeSeq, @Category, @Severity, @Status, @Resolution, @ResolutionReason, @Assignee, @AgentId, @Hostname, @ContainerId,
            @ContainerName, @Image, @Summary, @Techniques, @FindingCount, @FirstSeen, @LastSeen, @CreatedAt, @UpdatedAt, @Version, @PinId, @Processes, @Related, @HistoryJson)
        """;

    private const string Update = """
        update incident set change_seq = @ChangeSeq, severity = @Severity, status = @Status, resolution = @Resolution, resolution_reason = @ResolutionReason,
            assignee = @Assignee, container_name = @ContainerName, image = @Image, techniques = @Techniques, finding_count = @FindingCount,
            first_seen = @FirstSeen, last_seen = @LastSeen, updated_at = @UpdatedAt, version = @Version, summary = @Summary, processes = @Processes,
            related = @Related, history_json = @HistoryJson
        where incident_id = @IncidentId
        """;

    /// <summary>A writing transaction in which incidents may change (see the class summary).</summary>
    public sealed class Changes(Database.Write write, Action committed) : IAsyncDisposable
    {
        public Database.Write Write => write;

        public DbConnection Db => write.Db;
        public DbTransaction Transaction => write.Transaction;
        private long _next;

        public async Task<long> NextChangeAsync()
        {
            if (_next == 0)
                _next = await Db.ExecuteScalarAsync<long>(new CommandDefinition("select coalesce(max(change_seq), 0) from incident", transaction: Transaction));
            return ++_next;
        }

        public async Task CommitAsync(CancellationToken cancellationToken)
        {
            await write.CommitAsync(cancellationToken);
            committed();
        }

        public ValueTask DisposeAsync() => write.DisposeAsync();
    }

    /// <summary>The advisory lock's key: "incident" in ASCII.</summary>
    private const long ChangeLock = 0x696e636964656e74;

    /// <summary>
    /// A transaction for incident changes, in the writer's turn (<paramref name="background"/>: detection's, which lets requests go
    /// first); <paramref name="committed"/> runs once it is committed.
    /// </summary>
    public async Task<Changes> BeginChangesAsync(Action committed, CancellationToken cancellationToken, bool background = false)
    {
        var write = await database.BeginWriteAsync(cancellationToken, background);
        try
        {
            return await JoinChangesAsync(write, committed, cancellationToken);
        }
        catch
        {
            await write.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Lets incidents change in a write already begun (what changed before in it goes with the incident changes, in one
    /// transaction); the caller disposes <paramref name="write"/>, <paramref name="committed"/> runs once it is committed.
    /// </summary>
    public async Task<Changes> JoinChangesAsync(Database.Write write, Action committed, CancellationToken cancellationToken)
    {
        if (database.Provider == StorageProvider.Postgres)
            await write.Db.ExecuteAsync(new CommandDefinition("select pg_advisory_xact_lock(@key)", new { key = ChangeLock }, write.Transaction, cancellationToken: cancellationToken));
        return new Changes(write, committed);
    }

    /// <summary>Whether the lifecycle allows going from <paramref name="from"/> to <paramref name="to"/> (a change to the same status is not a change).</summary>
    public static bool Allowed(string from, IncidentStatus to) => to switch
    {
        IncidentStatus.Acknowledged => from == "open",
        IncidentStatus.Resolved => from is "open" or "acknowledged",
        IncidentStatus.Archived => from is "open" or "acknowledged" or "resolved",
        IncidentStatus.Open => from is "acknowledged" or "resolved" or "archived",
        _ => false,
    };

    /// <summary>The incident to change in <paramref name="changes"/>, and whether <paramref name="ifMatch"/> lets it be changed.</summary>
    public async Task<(IncidentRow? Row, ChangeRefusal Refusal)> FindForChangeAsync(Changes changes, string incidentId, string? ifMatch, CancellationToken cancellationToken)
    {
        var row = await changes.Db.QuerySingleOrDefaultAsync<IncidentRow>(new CommandDefinition(
            $"select {Columns} from incident where incident_id = @incidentId", new { incidentId }, changes.Transaction, cancellationToken: cancellationToken));
        if (row is null)
            return (null, ChangeRefusal.NotFound);
        return ETags.Matches(ifMatch, row.Version) ? (row, ChangeRefusal.None) : (row, ChangeRefusal.Stale);
    }

    /// <summary>Stores a row changed by the caller (its change number, version and time set by the caller).</summary>
    public Task UpdateAsync(Changes changes, IncidentRow row, CancellationToken cancellationToken) =>
        changes.Db.ExecuteAsync(new CommandDefinition(Update, row, changes.Transaction, cancellationToken: cancellationToken));

    public Task InsertNoteAsync(Changes changes, NoteRow note, CancellationToken cancellationToken) =>
        changes.Db.ExecuteAsync(new CommandDefinition(
            "insert into incident_note (note_id, incident_id, text, author, created_at) values (@NoteId, @IncidentId, @Text, @Author, @CreatedAt)", note, changes.Transaction, cancellationToken: cancellationToken));

    /// <summary>Status changes an incident keeps (the newest; the audit log has them all).</summary>
    public const int MaxHistory = 100;

    public static readonly JsonSerializerOptions HistoryJson = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
}
