using FluentValidation;
using Platform.Api.Agents;

namespace Platform.Api.Fim;

/// <summary>
/// What openapi.yaml cannot say about a rule (lengths, patterns, counts, enums and nulls are checked against its
/// schema before binding: Http/SpecRequestBodies.cs): globs that compile, appends that matter.
/// </summary>
public sealed class FimRuleSpecValidator : AbstractValidator<FimRuleSpec>
{
    public FimRuleSpecValidator()
    {
        RuleFor(r => r.Scope).SetValidator(new FimScopeValidator());
        RuleForEach(r => r.Paths).SetValidator(new FimPathValidator());
        RuleFor(r => r.AllowAppend).Must((rule, allowAppend) => allowAppend != true || rule.Operations?.Contains(FimOperation.Write) == true)
            .WithMessage("'allowAppend' only matters for rules that watch 'write'.");
        RuleFor(r => r.Exclusions!).SetValidator(new FimExclusionsValidator()).When(r => r.Exclusions is not null);
    }
}

public sealed class FimScopeValidator : AbstractValidator<FimScope>
{
    public FimScopeValidator()
    {
        RuleForEach(s => s.Hostnames).Must(glob => Glob.HostnameProblem(glob) is null)
            .WithMessage((_, glob) => $"{Glob.Quote(glob)} {Glob.HostnameProblem(glob)}.");
        RuleFor(s => s.Labels!).SetValidator(new LabelsValidator()).When(s => s.Labels is not null);
    }
}

public sealed class FimPathValidator : AbstractValidator<FimPath>
{
    public FimPathValidator()
    {
        RuleFor(p => p.Path).Must(path => Glob.PathProblem(path) is null).WithMessage((_, path) => $"{Glob.Quote(path)} {Glob.PathProblem(path)}.");
    }
}

public sealed class FimExclusionsValidator : AbstractValidator<FimExclusions>
{
    public FimExclusionsValidator()
    {
        RuleForEach(e => e.Processes)
            .Must(process => (!process.Contains('\0') && !process.Contains('/')) || (process.StartsWith('/') && Glob.PathProblem(process) is null))
            .WithMessage((_, process) => $"{Glob.Quote(process)} must be a process name (no '/') or an absolute executable path.");
        RuleForEach(e => e.Paths).Must(path => Glob.PathProblem(path) is null).WithMessage((_, path) => $"{Glob.Quote(path)} {Glob.PathProblem(path)}.");
    }
}

public sealed class FimRuleSetValidator : AbstractValidator<FimRuleSet>
{
    public FimRuleSetValidator()
    {
        RuleFor(s => s.Rules)
            .Must(rules => rules is null || rules.Where(r => r?.Name is not null).GroupBy(r => r.Name, StringComparer.Ordinal).All(g => g.Count() == 1))
            .WithMessage(set => "Rule names must be unique; repeated: "
                + string.Join(", ", set.Rules.Where(r => r?.Name is not null).GroupBy(r => r.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => $"'{g.Key}'")) + ".");
        RuleForEach(s => s.Rules).SetValidator(new FimRuleSpecValidator());
    }
}

public sealed class FimRuleUnlockRequestValidator : AbstractValidator<FimRuleUnlockRequest>
{
    public FimRuleUnlockRequestValidator()
    {
        RuleFor(r => r.Reason).Must(reason => !string.IsNullOrWhiteSpace(reason)).WithMessage("'reason' must say why (it goes to the audit log).");
    }
}
