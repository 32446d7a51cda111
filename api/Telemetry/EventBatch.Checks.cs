using System.Buffers;
using System.Text;
using Platform.Contracts;

namespace Platform.Api.Telemetry;

public sealed partial class EventBatch
{
    // ---- Checks (openapi.yaml's limits; lengths in UTF-16 code units, as JSON Schema's maxLength) ----

    private void Check(int e, TelemetryEventKind kind)
    {
        Slot S(Field field) => _b.Slots[e * FieldCount + (int)field];
        if (!IsClientId(Text(S(Field.Id))))
            FailEvent(e, "id", "'id' must be 1 to 64 letters, digits, '_' or '-'.");
        if (S(Field.Time).Length == Absent && !HasError(e, "time"))
            FailEvent(e, "time", "'time' is required.");
        if (S(Field.Hostname).Length != Absent && !string.Equals(Encoding.UTF8.GetString(Text(S(Field.Hostname))), _hostname, StringComparison.OrdinalIgnoreCase))
            FailEvent(e, "hostname", $"'hostname' must be left out or be this agent's host name ('{_hostname}').");
        MaxLength(e, Field.ProcessName, 256);
        if (S(Field.ContainerId).Length != Absent && !IsContainerId(Text(S(Field.ContainerId))))
            FailEvent(e, "container.id", "'id' must be 1 to 128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit.");
        MaxLength(e, Field.ContainerName, 256, "container.name");
        MaxLength(e, Field.ContainerImage, 512, "container.image");

        switch (kind)
        {
            case TelemetryEventKind.Process_start:
                Pid(Field.Pid, required: true);
                Pid(Field.Ppid, required: false);
                if (S(Field.Executable).Length is Absent or 0 || !FitsIn(Text(S(Field.Executable)), 4096))
                    FailEvent(e, "executable", "'executable' must be 1 to 4096 characters.");
                MaxLength(e, Field.ParentProcessName, 256);
                Items(Field.Args, 256, 4096, "'args' holds at most 256 arguments of at most 4096 characters.");
                MaxLength(e, Field.User, 256);
                if (S(Field.Uid) is { Length: not Absent, Number: < 0 or > 4294967295 })
                    FailEvent(e, "uid", "'uid' must be between 0 and 4294967295.");
                MaxLength(e, Field.Cwd, 4096);
                MaxLength(e, Field.Interpreter, 4096);
                Address(Field.StdioRemoteAddress, required: false);
                Port(Field.StdioRemotePort, required: false);
                break;
            case TelemetryEventKind.Process_exit:
                Pid(Field.Pid, required: true);
                if (S(Field.ExitCode) is { Length: not Absent, Number: < int.MinValue or > int.MaxValue })
                    FailEvent(e, "exitCode", "'exitCode' must be a 32-bit integer.");
                break;
            case TelemetryEventKind.File_access:
                Pid(Field.Pid, required: false);
                var path = Text(S(Field.Path));
                if (path.IsEmpty || path[0] != '/' || !FitsIn(path, 4096))
                    FailEvent(e, "path", "'path' must be absolute and at most 4096 characters.");
                Required(Field.Operation);
                MaxLength(e, Field.NewPath, 4096);
                break;
            case TelemetryEventKind.Network_connect:
                Pid(Field.Pid, required: false);
                Required(Field.Protocol);
                Address(Field.LocalAddress, required: false);
                Port(Field.LocalPort, required: false);
                Address(Field.RemoteAddress, required: true);
                Port(Field.RemotePort, required: true);
                break;
            case TelemetryEventKind.Network_listen:
                Pid(Field.Pid, required: false);
                Required(Field.Protocol);
                Address(Field.LocalAddress, required: false);
                Port(Field.LocalPort, required: true);
                break;
            case TelemetryEventKind.Dns_query:
                Pid(Field.Pid, required: false);
                var name = Text(S(Field.Name));
                if (name.IsEmpty || !FitsIn(name, 253))
                    FailEvent(e, "name", "'name' must be 1 to 253 characters.");
                Items(Field.Answers, 64, 253, "'answers' holds at most 64 entries of at most 253 characters.");
                break;
            case TelemetryEventKind.Coverage_gap:
                Required(Field.Until);
                Required(Field.Reason);
                if (S(Field.Reason) is { Length: not Absent, Number: (int)CoverageGapReason.MissingBatches })
                    FailEvent(e, "reason", "'missing-batches' is the API's own finding (batches whose sequence numbers never arrived): an agent reports sensor-overflow, collector-overflow or agent-down.");
                if (S(Field.Until) is { Length: not Absent } until && S(Field.Time) is { Length: not Absent } from && until.Number < from.Number)
                    FailEvent(e, "until", "'until' must not be before 'time' (the span is time to until).");
                if (S(Field.LostEvents) is { Length: not Absent, Number: < 0 })
                    FailEvent(e, "lostEvents", "'lostEvents' must be 0 or more.");
                break;
        }

        if (S(Field.Redacted).Length != Absent)
        {
            var reasons = this.Items(e, Field.Redacted);
            var valid = reasons.Count <= 64;
            for (var i = 0; valid && i < reasons.Count; i++)
                valid = reasons[i].Length <= 48 && SecretRedactor.ReasonName.IsMatch(Encoding.ASCII.GetString(reasons[i]));
            if (!valid)
                FailEvent(e, "redacted", "'redacted' holds at most 64 reasons, each 1 to 48 lowercase letters, digits or '-' starting with a letter.");
        }

        void Required(Field field)
        {
            if (S(field).Length == Absent && !HasError(e, Names[(int)field]))
                FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' is required.");
        }

        void Pid(Field field, bool required) => Range(field, 0, int.MaxValue, required, "a process id (0 or more)");

        void Port(Field field, bool required) => Range(field, 0, 65535, required, "a port (0 to 65535)");

        void Range(Field field, long min, long max, bool required, string what)
        {
            var slot = S(field);
            if (slot.Length == Absent ? required : slot.Number < min || slot.Number > max)
                FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' must be {what}{(required ? " and is required" : "")}.");
        }

        void Address(Field field, bool required)
        {
            var slot = S(field);
            if (slot.Length == Absent ? required : slot.Length > 45 || !System.Net.IPAddress.TryParse(Text(slot), out _))
                FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' must be an IPv4 or IPv6 address{(required ? " and is required" : "")}.");
        }

        void Items(Field field, int maxItems, int maxLength, string message)
        {
            var items = this.Items(e, field);
            var fits = items.Count <= maxItems;
            for (var i = 0; fits && i < items.Count; i++)
                fits = FitsIn(items[i], maxLength);
            if (!fits)
                FailEvent(e, Names[(int)field], message);
        }
    }

    private void MaxLength(int e, Field field, int max, string? name = null)
    {
        var slot = _b.Slots[e * FieldCount + (int)field];
        if (slot.Length > max && !FitsIn(Text(slot), max))
            FailEvent(e, name ?? Names[(int)field], $"'{(name ?? Names[(int)field]).Split('.')[^1]}' must be at most {max} characters.");
    }

    /// <summary>At most <paramref name="max"/> UTF-16 code units (a string's length), counted only when the bytes alone do not settle it.</summary>
    private static bool FitsIn(ReadOnlySpan<byte> utf8, int max) => utf8.Length <= max || Encoding.UTF8.GetCharCount(utf8) <= max;

    private static bool IsClientId(ReadOnlySpan<byte> id) =>
        id.Length is > 0 and <= 64 && !id.ContainsAnyExcept(ClientIdBytes);

    private static bool IsContainerId(ReadOnlySpan<byte> id) =>
        id.Length is > 0 and <= 128 && char.IsAsciiLetterOrDigit((char)id[0]) && !id.ContainsAnyExcept(ContainerIdBytes);

    private static readonly SearchValues<byte> ClientIdBytes = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"u8);

    private static readonly SearchValues<byte> ContainerIdBytes = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"u8);

    private void Fail(string key, string message)
    {
        _errors ??= new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (!_errors.TryGetValue(key, out var messages))
            _errors[key] = messages = [];
        messages.Add(message);
    }

    private void FailEvent(int e, string? field, string message) => Fail(field is null ? $"events[{e}]" : $"events[{e}].{field}", message);

    private bool HasError(int e, string field) => _errors is not null && _errors.ContainsKey($"events[{e}].{field}");
}
