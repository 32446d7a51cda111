using Platform.Api.Audit;

namespace Platform.Api.Fim;

/// <summary>
/// Every change to a rule, whether made one by one or by applying a rule set: the row, a version in the
/// history, an audit entry and a new policy generation, all in the caller's transaction.
/// </summary>
public sealed class FimRuleWriter(AuditLog audit, TimeProvider time)
{
    public Task<FimRuleRow> CreateAsync(Database.Write write, Caller caller, FimRuleSpec canonical, CancellationToken cancellationToken) =>
        InsertAsync(write, caller, Ids.New("fim"), version: 1, canonical, "created", cancellationToken);

    /// <summary>Brings a deleted rule back under its id, as the version after its deletion.</summary>
    public Task<FimRuleRow> RecreateAsync(Database.Write write, Caller caller, FimRuleVersionRow latest, FimRuleSpec canonical, CancellationToken cancellationToken) =>
        InsertAsync(write, caller, latest.RuleId, latest.Version + 1, canonical, "restored", cancellationToken);

    /// <summary>A new version of an existing rule (<paramref name="change"/>: updated or restored).</summary>
    public async Task<FimRuleRow> UpdateAsync(Database.Write write, Caller caller, FimRuleRow current, FimRuleSpec canonical, string change, CancellationToken cancellationToken)
    {
        var row = Row(current.RuleId, current.Version + 1, canonical, current.CreatedAt, current.CreatedBy, time.GetUtcNow(), caller.TokenId);
        await FimRuleStore.UpdateAsync(write, row, cancellationToken);
        await RecordAsync(write, caller, row, change, current, cancellationToken);
        return row;
    }

    public async Task DeleteAsync(Database.Write write, Caller caller, FimRuleRow current, CancellationToken cancellationToken)
    {
        await FimRuleStore.DeleteAsync(write, current.RuleId, cancellationToken);
        await FimRuleStore.AppendVersionAsync(write, new FimRuleVersionRow
        {
            RuleId = current.RuleId,
            Version = current.Version + 1,
            Change = "deleted",
            SpecJson = current.SpecJson,
            ChangedAt = time.GetUtcNow(),
            ChangedBy = caller.TokenId,
        }, cancellationToken);
        await audit.AppendAsync(write, caller, "fim-rule.delete", "fim-rule", current.RuleId, RuleSpecs.ToContract(current), null, cancellationToken);
        await FimRuleStore.BumpGenerationAsync(write, cancellationToken);
    }

    private async Task<FimRuleRow> InsertAsync(Database.Write write, Caller caller, string ruleId, int version, FimRuleSpec canonical, string change, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var row = Row(ruleId, version, canonical, now, caller.TokenId, now, caller.TokenId);
        await FimRuleStore.InsertAsync(write, row, cancellationToken);
        await RecordAsync(write, caller, row, change, before: null, cancellationToken);
        return row;
    }

    private static FimRuleRow Row(string ruleId, int version, FimRuleSpec canonical, DateTimeOffset createdAt, string? createdBy, DateTimeOffset updatedAt, string updatedBy) => new()
    {
        RuleId = ruleId,
        Name = canonical.Name,
        SpecJson = RuleSpecs.ToJson(canonical),
        ComplianceTags = FimRuleStore.TagsColumn(canonical.ComplianceTags),
        Version = version,
        CreatedAt = createdAt,
        CreatedBy = createdBy,
        UpdatedAt = updatedAt,
        UpdatedBy = updatedBy,
    };

    private async Task RecordAsync(Database.Write write, Caller caller, FimRuleRow row, string change, FimRuleRow? before, CancellationToken cancellationToken)
    {
        await FimRuleStore.AppendVersionAsync(write, new FimRuleVersionRow
        {
            RuleId = row.RuleId,
            Version = row.Version,
            Change = change,
            SpecJson = row.SpecJson,
            ChangedAt = row.UpdatedAt,
            ChangedBy = caller.TokenId,
        }, cancellationToken);
        var action = change switch { "created" => "fim-rule.create", "restored" => "fim-rule.restore", _ => "fim-rule.update" };
        await audit.AppendAsync(write, caller, action, "fim-rule", row.RuleId, before is null ? null : RuleSpecs.ToContract(before), RuleSpecs.ToContract(row), cancellationToken);
        await FimRuleStore.BumpGenerationAsync(write, cancellationToken);
    }
}
