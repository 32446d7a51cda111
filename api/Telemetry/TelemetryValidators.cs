using System.Text.RegularExpressions;
using FluentValidation;
using Platform.Contracts;

namespace Platform.Api.Telemetry;

/// <summary>An inventory report; environment variables can only be names (the schema has no field for a value).</summary>
public sealed class InventoryReportValidator : AbstractValidator<InventoryReport>
{
    public InventoryReportValidator()
    {
        RuleFor(r => r.Containers).Must(c => c.Count <= 1000).WithMessage("At most 1000 containers.");
        RuleFor(r => r.Images).Must(i => i.Count <= 1000).WithMessage("At most 1000 images.");
        RuleForEach(r => r.Containers).ChildRules(container =>
        {
            container.RuleFor(c => c.Id).NotEmpty().MaximumLength(128).Matches("^[A-Za-z0-9][A-Za-z0-9_.:-]*$");
            container.RuleFor(c => c.Name).MaximumLength(256);
            container.RuleFor(c => c.Image).MaximumLength(512);
            container.RuleFor(c => c.ImageDigest).Matches("^sha256:[0-9a-f]{64}$").When(c => c.ImageDigest is not null);
            container.RuleFor(c => c.Capabilities).Must(c => c is null || (c.Count <= 64 && c.All(x => x is { Length: > 0 and <= 64 } && x.All(ch => ch is (>= 'A' and <= 'Z') or '_'))))
                .WithMessage("'capabilities' holds at most 64 capability names (A-Z and '_').");
            container.RuleFor(c => c.Environment).Must(e => e is null || e.Count <= 1000).WithMessage("At most 1000 environment variables.");
            // A NAME=value pair sent as a name would store the value: names are names only.
            container.RuleForEach(c => c.Environment).ChildRules(variable =>
                variable.RuleFor(v => v.Name).NotEmpty().MaximumLength(256).Matches("^[A-Za-z_][A-Za-z0-9_.]*$")
                    .WithMessage("'name' must be an environment variable name only (letters, digits, '_' and '.'), never a value."));
            container.RuleFor(c => c.Ports).Must(p => p is null || p.Count <= 1000).WithMessage("At most 1000 ports.");
            container.RuleForEach(c => c.Ports).ChildRules(port => port.RuleFor(p => p.Port).InclusiveBetween(1, 65535));
        });
        RuleForEach(r => r.Images).ChildRules(image =>
        {
            image.RuleFor(i => i.Name).NotEmpty().MaximumLength(512);
            image.RuleFor(i => i.Digest).Matches("^sha256:[0-9a-f]{64}$").When(i => i.Digest is not null);
            image.RuleFor(i => i.Vulnerabilities).Must(v => v is null || v.Count <= 10000).WithMessage("At most 10000 vulnerabilities an image.");
            image.RuleForEach(i => i.Vulnerabilities).ChildRules(v =>
            {
                v.RuleFor(x => x.Cve).NotEmpty().MaximumLength(32).Matches("^CVE-[0-9]{4}-[0-9]{4,}$");
                v.RuleFor(x => x.Package).NotEmpty().MaximumLength(256);
                v.RuleFor(x => x.InstalledVersion).MaximumLength(128);
                v.RuleFor(x => x.FixedVersion).MaximumLength(128);
            });
        });
    }
}
