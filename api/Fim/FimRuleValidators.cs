using FluentValidation;
using Platform.Api.Agents;
using Platform.Contracts;

namespace Platform.Api.Fim;

public sealed class FimRuleSpecValidator : AbstractValidator<FimRuleSpec>
{
    public const int MaxPaths = 100;

    public FimRuleSpecValidator()
    {
        RuleFor(r => r.Name).NotEmpty().MaximumLength(100).Matches("^[A-Za-z0-9][A-Za-z0-9._-]*$")
            .WithMessage("'name' must start with a letter or digit and use only letters, digits, '.', '_' and '-'.");
        RuleFor(r => r.Description).MaximumLength(2000);
        RuleFor(r => r.Severity).IsInEnum();
        RuleFor(r => r.Effect).IsInEnum();
        RuleFor(r => r.Scope).NotNull().SetValidator(new FimScopeValidator());
        RuleFor(r => r.Paths).NotEmpty().WithMessage("List at least one path.")
            .Must(paths => paths is null || paths.Count <= MaxPaths).WithMessage($"At most {MaxPaths} paths.");
        RuleForEach(r => r.Paths).NotNull().WithMessage("A path must not be null.").SetValidator(new FimPathValidator());
        RuleFor(r => r.Operations).NotEmpty().WithMessage("List at least one operation: read, write, create, delete, metadata or rename.")
            .Must(operations => operations is null || operations.Distinct().Count() == operations.Count).WithMessage("List each operation once.");
        RuleForEach(r => r.Operations).IsInEnum();
        RuleFor(r => r.AllowAppend).Must((rule, allowAppend) => allowAppend != true || rule.Operations?.Contains(FimOperation.Write) == true)
            .WithMessage("'allowAppend' only matters for rules that watch 'write'.");
        RuleFor(r => r.Exclusions!).SetValidator(new FimExclusionsValidator()).When(r => r.Exclusions is not null);
        RuleFor(r => r.ComplianceTags!).Must(tags => tags.Count <= 20).WithMessage("At most 20 compliance tags.").When(r => r.ComplianceTags is not null);
        RuleForEach(r => r.ComplianceTags).NotNull().MaximumLength(64).Matches("^[a-z0-9-]+:[A-Za-z0-9.-]+$").WithMessage("Compliance tags look like 'pci-dss:10.5.5'.");
    }
}

public sealed class FimScopeValidator : AbstractValidator<FimScope>
{
    public FimScopeValidator()
    {
        RuleFor(s => s.Hostnames!).Must(h => h.Count <= 100).WithMessage("At most 100 host name globs.").When(s => s.Hostnames is not null);
        RuleForEach(s => s.Hostnames).Must(glob => glob is not null && Glob.HostnameProblem(glob) is null)
            .WithMessage((_, glob) => glob is null ? "A host name glob must not be null." : $"{Glob.Quote(glob)} {Glob.HostnameProblem(glob)}.");
        RuleFor(s => s.Labels!).SetValidator(new LabelsValidator()).When(s => s.Labels is not null);
    }
}

public sealed class FimPathValidator : AbstractValidator<FimPath>
{
    public FimPathValidator()
    {
        RuleFor(p => p.Path).NotEmpty().MaximumLength(4096)
            .Must(path => path is null || Glob.PathProblem(path) is null).WithMessage((_, path) => $"{Glob.Quote(path)} {Glob.PathProblem(path)}.");
    }
}

public sealed class FimExclusionsValidator : AbstractValidator<FimExclusions>
{
    public FimExclusionsValidator()
    {
        RuleFor(e => e.Processes!).Must(p => p.Count <= 100).WithMessage("At most 100 processes.").When(e => e.Processes is not null);
        RuleForEach(e => e.Processes).NotEmpty().MaximumLength(4096)
            .Must(process => process is null || (!process.Contains('\0') && !process.Contains('/')) || (process.StartsWith('/') && Glob.PathProblem(process) is null))
            .WithMessage((_, process) => $"{Glob.Quote(process)} must be a process name (no '/') or an absolute executable path.");
        RuleFor(e => e.Paths!).Must(p => p.Count <= 100).WithMessage("At most 100 paths.").When(e => e.Paths is not null);
        RuleForEach(e => e.Paths).NotEmpty().MaximumLength(4096)
            .Must(path => path is null || Glob.PathProblem(path) is null).WithMessage((_, path) => $"{Glob.Quote(path)} {Glob.PathProblem(path)}.");
    }
}

public sealed class FimRuleSetValidator : AbstractValidator<FimRuleSet>
{
    public const int MaxRules = 1000;

    public FimRuleSetValidator()
    {
        RuleFor(s => s.Rules).NotNull().Must(rules => rules is null || rules.Count <= MaxRules).WithMessage($"At most {MaxRules} rules in a set.");
        RuleFor(s => s.Rules)
            .Must(rules => rules is null || rules.Where(r => r?.Name is not null).GroupBy(r => r.Name, StringComparer.Ordinal).All(g => g.Count() == 1))
            .WithMessage(set => "Rule names must be unique; repeated: "
                + string.Join(", ", set.Rules.Where(r => r?.Name is not null).GroupBy(r => r.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => $"'{g.Key}'")) + ".");
        RuleForEach(s => s.Rules).NotNull().WithMessage("A rule must not be null.").SetValidator(new FimRuleSpecValidator());
    }
}
