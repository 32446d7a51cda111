using FluentValidation;

namespace Platform.Api.Incidents;

public sealed class IncidentStatusChangeValidator : AbstractValidator<IncidentStatusChange>
{
    public IncidentStatusChangeValidator()
    {
        RuleFor(c => c.Resolution).NotNull().When(c => c.Status == IncidentStatus.Resolved)
            .WithMessage("Say how it was resolved: 'resolution' is true-positive, false-positive or benign.");
        RuleFor(c => c.Resolution).Null().When(c => c.Status != IncidentStatus.Resolved)
            .WithMessage("'resolution' goes with status 'resolved' only.");
        RuleFor(c => c.Reason).NotEmpty().When(c => c.Status is IncidentStatus.Resolved or IncidentStatus.Open)
            .WithMessage("Say why: 'reason' is required to resolve or reopen an incident.");
    }
}

public sealed class IncidentAssignmentValidator : AbstractValidator<IncidentAssignment>
{
    public IncidentAssignmentValidator()
    {
        RuleFor(a => a.Assignee).Must(a => a is null || a.Trim().Length > 0).WithMessage("'assignee' is a name or null (to unassign), not blank.");
    }
}

public sealed class IncidentNoteSpecValidator : AbstractValidator<IncidentNoteSpec>
{
    public IncidentNoteSpecValidator()
    {
        RuleFor(n => n.Text).Must(t => !string.IsNullOrWhiteSpace(t)).WithMessage("'text' must not be blank.");
    }
}

public sealed class IncidentBulkChangeValidator : AbstractValidator<IncidentBulkChange>
{
    public IncidentBulkChangeValidator()
    {
        RuleFor(b => b.Filter).Must(f => IncidentEndpoints.Query(f).IsEmpty == false)
            .WithMessage("Say which incidents: an empty filter would change every incident.");
        RuleFor(b => b.Filter.Since).LessThanOrEqualTo(b => b.Filter.Until).When(b => b.Filter?.Since is not null && b.Filter.Until is not null)
            .WithMessage(IncidentQuery.WindowOutOfOrder);
        RuleFor(b => b.Change).SetValidator(new IncidentStatusChangeValidator());
    }
}
