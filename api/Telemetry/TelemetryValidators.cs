using System.Text.RegularExpressions;
using FluentValidation;
using Platform.Contracts;

namespace Platform.Api.Telemetry;

/// <summary>
/// Checks a batch in one pass (it runs for every 1,000 events an agent pushes). Field names match the JSON
/// ("events[3].path"). The limits are openapi.yaml's.
/// </summary>
public sealed partial class TelemetryBatchValidator : AbstractValidator<TelemetryBatch>
{
    public const int MaxEvents = 1000;

    public TelemetryBatchValidator()
    {
        RuleFor(b => b.Id).Must(Ids.IsClientId).WithMessage("'id' must be 1 to 64 letters, digits, '_' or '-'.");
        RuleFor(b => b.Sequence).InclusiveBetween(1, 9007199254740991);
        RuleFor(b => b.Events).NotEmpty().Must(e => e.Count <= MaxEvents).WithMessage($"At most {MaxEvents} events a batch.");
        RuleFor(b => b.Events).Custom((events, context) =>
        {
            for (var i = 0; i < events.Count; i++)
            {
                var e = events[i];
                var at = $"events[{i}]";
                void Fail(string field, string message) => context.AddFailure($"{at}.{field}", message);
                if (e is null || e.GetType() == typeof(TelemetryEvent))
                {
                    context.AddFailure($"{at}.kind", "'kind' is required: one of process_start, process_exit, file_access, network_connect, network_listen, dns_query.");
                    continue;
                }

                if (!Ids.IsClientId(e.Id))
                    Fail("id", "'id' must be 1 to 64 letters, digits, '_' or '-'.");
                if (e.Hostname is { Length: > 253 })
                    Fail("hostname", "'hostname' must be at most 253 characters.");
                if (e.ProcessName is { Length: > 256 })
                    Fail("processName", "'processName' must be at most 256 characters.");
                if (e.Container is { } c)
                {
                    if (!Ids.IsContainerId(c.Id))
                        Fail("container.id", "'id' must be 1 to 128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit.");
                    if (c.Name is { Length: > 256 })
                        Fail("container.name", "'name' must be at most 256 characters.");
                    if (c.Image is { Length: > 512 })
                        Fail("container.image", "'image' must be at most 512 characters.");
                }

                switch (e)
                {
                    case ProcessStartEvent start:
                        Pid(start.Pid, "pid", required: true);
                        Pid(start.Ppid, "ppid", required: false);
                        if (string.IsNullOrEmpty(start.Executable) || start.Executable.Length > 4096)
                            Fail("executable", "'executable' must be 1 to 4096 characters.");
                        if (start.ParentProcessName is { Length: > 256 })
                            Fail("parentProcessName", "'parentProcessName' must be at most 256 characters.");
                        if (start.Args is { } args && (args.Count > 256 || args.Any(a => a is null || a.Length > 4096)))
                            Fail("args", "'args' holds at most 256 arguments of at most 4096 characters.");
                        if (start.User is { Length: > 256 })
                            Fail("user", "'user' must be at most 256 characters.");
                        if (start.Uid is < 0 or > 4294967295)
                            Fail("uid", "'uid' must be between 0 and 4294967295.");
                        if (start.Cwd is { Length: > 4096 })
                            Fail("cwd", "'cwd' must be at most 4096 characters.");
                        break;
                    case ProcessExitEvent exit:
                        Pid(exit.Pid, "pid", required: true);
                        break;
                    case FileAccessEvent file:
                        Pid(file.Pid, "pid", required: false);
                        if (string.IsNullOrEmpty(file.Path) || file.Path.Length > 4096 || file.Path[0] != '/')
                            Fail("path", "'path' must be absolute and at most 4096 characters.");
                        if (!Enum.IsDefined(file.Operation))
                            Fail("operation", "'operation' is not a file operation.");
                        if (file.NewPath is { Length: > 4096 })
                            Fail("newPath", "'newPath' must be at most 4096 characters.");
                        break;
                    case NetworkConnectEvent connect:
                        Pid(connect.Pid, "pid", required: false);
                        Address(connect.LocalAddress, "localAddress", required: false);
                        Port(connect.LocalPort, "localPort", required: false);
                        Address(connect.RemoteAddress, "remoteAddress", required: true);
                        Port(connect.RemotePort, "remotePort", required: true);
                        break;
                    case NetworkListenEvent listen:
                        Pid(listen.Pid, "pid", required: false);
                        Address(listen.LocalAddress, "localAddress", required: false);
                        Port(listen.LocalPort, "localPort", required: true);
                        break;
                    case DnsQueryEvent dns:
                        Pid(dns.Pid, "pid", required: false);
                        if (string.IsNullOrEmpty(dns.Name) || dns.Name.Length > 253)
                            Fail("name", "'name' must be 1 to 253 characters.");
                        if (dns.Answers is { } answers && (answers.Count > 64 || answers.Any(a => a is null || a.Length > 253)))
                            Fail("answers", "'answers' holds at most 64 entries of at most 253 characters.");
                        break;
                }

                void Pid(int? pid, string field, bool required)
                {
                    if (pid is null ? required : pid < 0)
                        Fail(field, $"'{field}' must be a process id (0 or more){(required ? " and is required" : "")}.");
                }

                void Port(int? port, string field, bool required)
                {
                    if (port is null ? required : port is < 0 or > 65535)
                        Fail(field, $"'{field}' must be a port (0 to 65535){(required ? " and is required" : "")}.");
                }

                void Address(string? address, string field, bool required)
                {
                    if (address is null ? required : address.Length > 45 || !System.Net.IPAddress.TryParse(address, out _))
                        Fail(field, $"'{field}' must be an IPv4 or IPv6 address{(required ? " and is required" : "")}.");
                }
            }
        });
    }

    /// <summary>The id formats of openapi.yaml that agents make.</summary>
    private static partial class Ids
    {
        public static bool IsClientId(string? id) => !string.IsNullOrEmpty(id) && id.Length <= 64 && ClientId().IsMatch(id);

        public static bool IsContainerId(string? id) => !string.IsNullOrEmpty(id) && id.Length <= 128 && ContainerId().IsMatch(id);

        [GeneratedRegex("^[A-Za-z0-9_-]+$")]
        private static partial Regex ClientId();

        [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
        private static partial Regex ContainerId();
    }
}

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
