using System.Data.Common;
using Platform.Api.Audit;
using Platform.Api.Auth;
using Platform.Api.Storage;
using Platform.Contracts;

namespace Platform.Api.Fim;

/// <summary>
/// Every change to a rule, whether made one by one or by applying a rule set: the row, a version in the
/// history, an audit entry and a new policy generation, all in the caller's transaction.
/// </summary>
public sealed class FimRuleWriter(AuditLog audit, TimeProvider time)
{
    public async Task<FimRuleRow> CreateAsync(DbConnection db, DbTransaction transaction, Caller caller, FimRuleSpec canonical, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var row = new FimRuleRow
        {
            RuleId = Ids.New("fim"),
            Name = canonical.Name,
            SpecJson = RuleSpecs.ToJson(canonical),
            ComplianceTags = FimRuleStore.TagsColumn(canonical.ComplianceTags),
            Version = 1,
            CreatedAt = now,
            CreatedBy = caller.TokenId,
            UpdatedAt = now,
            UpdatedBy = caller.TokenId,
        };
        await FimRuleStore.InsertAsync(db, transaction, row, cancellationToken);
        await RecordAsync(db, transaction, caller, row, "created", before: null, cancellationToken);
        return row;
    }

    /// <summary>A new version of an existing rule (<paramref name="change"/>: updated or restored).</summary>
    public async Task<FimRuleRow> UpdateAsync(DbConnection db, DbTransaction transaction, Caller caller, FimRuleRow current, FimRuleSpec canonical, string change, CancellationToken cancellationToken)
    {
        var row = new FimRuleRow
        {
            RuleId = current.RuleId,
            Name = canonical.Name,
            SpecJson = RuleSpecs.ToJson(canonical),
            ComplianceTags = FimRuleStore.TagsColumn(canonical.ComplianceTags),
            Version = current.Version + 1,
            CreatedAt = current.CreatedAt,
            CreatedBy = current.CreatedBy,
            UpdatedAt = time.GetUtcNow(),
            UpdatedBy = caller.TokenId,
        };
        await FimRuleStore.UpdateAsync(db, transaction, row, cancellationToken);
        await RecordAsync(db, transaction, caller, row, change, current, cancellationToken);
        return row;
    }

    /// <summary>Brings a deleted rule back under its id, as the version after its deletion.</summary>
    public async Task<FimRuleRow> RecreateAsync(DbConnection db, DbTransaction transaction, Caller caller, FimRuleVersionRow latest, FimRuleSpec canonical, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var row = new FimRuleRow
        {
            RuleId = latest.RuleId,
            Name = canonical.Name,
            SpecJson = RuleSpecs.ToJson(canonical),
            ComplianceTags = FimRuleStore.TagsColumn(canonical.ComplianceTags),
            Version = latest.Version + 1,
            CreatedAt = now,
            CreatedBy = caller.TokenId,
            UpdatedAt = now,
            UpdatedBy = caller.TokenId,
        };
        await FimRuleStore.InsertAsync(db, transaction, row, cancellationToken);
        await RecordAsync(db, transaction, caller, row, "restored", before: null, cancellationToken);
        return row;
    }

    public async Task DeleteAsync(DbConnection db, DbTransaction transaction, Caller caller, FimRuleRow current, CancellationToken cancellationToken)
    {
        await FimRuleStore.DeleteAsync(db, transaction, current.RuleId, cancellationToken);
        await FimRuleStore.AppendVersionAsync(db, transaction, new FimRuleVersionRow
        {
            RuleId = current.RuleId,
            Version = current.Version + 1,
            Change = "deleted",
            SpecJson = current.SpecJson,
            ChangedAt = time.GetUtcNow(),
            ChangedBy = caller.TokenId,
        }, cancellationToken);
        await audit.AppendAsync(db, transaction, caller, "fim-rule.delete", "fim-rule", current.RuleId, RuleSpecs.ToContract(current), null, cancellationToken);
        await FimRuleStore.BumpGenerationAsync(db, transaction, cancellationToken);
    }

    private async Task RecordAsync(DbConnection db, DbTransaction transaction, Caller caller, FimRuleRow row, string change, FimRuleRow? before, CancellationToken cancellationToken)
    {
        await FimRuleStore.AppendVersionAsync(db, transaction, new FimRuleVersionRow
        {
            RuleId = row.RuleId,
            Version = row.Version,
            Change = change,
            SpecJson = row.SpecJson,
            ChangedAt = row.UpdatedAt,
            ChangedBy = caller.TokenId,
        }, cancellationToken);
        var action = change switch { "created" => "fim-rule.create", "restored" => "fim-rule.restore", _ => "fim-rule.update" };
        await audit.AppendAsync(db, transaction, caller, action, "fim-rule", row.RuleId, before is null ? null : RuleSpecs.ToContract(before), RuleSpecs.ToContract(row), cancellationToken);
        await FimRuleStore.BumpGenerationAsync(db, transaction, cancellationToken);
    }
}
