using Spectre.Console;

namespace Platform.Cli.Fim;

/// <summary>A rule-set plan as a diff people read in a pipeline's log: + create, ~ update (each changed field), - delete.</summary>
public static class PlanText
{
    public static void Write(Output output, FimPlan plan, int keptOutsideFile)
    {
        var done = plan.Applied;
        foreach (var item in plan.Items.Where(i => i.Action != FimPlanAction.Unchanged))
        {
            var name = Markup.Escape(item.Name);
            switch (item.Action)
            {
                case FimPlanAction.Create:
                    output.Markup($"[green]+ {(done ? "created" : "create ")} {name}[/]");
                    break;
                case FimPlanAction.Delete:
                    output.Markup($"[red]- {(done ? "deleted" : "delete ")} {name}[/]");
                    break;
                default:
                    output.Markup($"[yellow]~ {(done ? "updated" : "update ")} {name}[/]");
                    foreach (var change in item.Changes)
                        output.Markup($"      {Markup.Escape(change.Field)}: [red]{Markup.Escape(Value(change.Before))}[/] -> [green]{Markup.Escape(Value(change.After))}[/]");
                    break;
            }
        }

        var summary = plan.Summary;
        output.Text(plan.DryRun
            ? $"Plan: {summary.Create} to create, {summary.Update} to update, {summary.Delete} to delete, {summary.Unchanged} unchanged."
            : done
                ? $"Applied: {summary.Create} created, {summary.Update} updated, {summary.Delete} deleted, {summary.Unchanged} unchanged."
                : $"Nothing to apply: {summary.Unchanged} unchanged.");
        if (keptOutsideFile > 0)
            output.Text($"{keptOutsideFile} rule(s) on the server are not in the file and are kept; --prune deletes them.");
    }

    public static bool HasChanges(FimPlan plan) => plan.Summary.Create + plan.Summary.Update + plan.Summary.Delete > 0;

    /// <summary>A field's value as compact JSON; "(unset)" when the field had none.</summary>
    private static string Value(object? value) => value switch
    {
        null => "(unset)",
        JsonElement { ValueKind: JsonValueKind.Undefined } => "(unset)",
        JsonElement element => JsonSerializer.Serialize(element),
        _ => JsonSerializer.Serialize(value, PlatformClient.SerializerOptions),
    };
}
