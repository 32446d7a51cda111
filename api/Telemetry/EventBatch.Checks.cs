using System.Buffers;

namespace Platform.Api.Telemetry;

public sealed partial class EventBatch
{
    // ---- Checks (openapi.yaml's rules, see EventRules; lengths in UTF-16 code units, as JSON Schema's maxLength) ----

    /// <param name="present">The fields the event gives (bits of <see cref="Field"/>), null ones included.</param>
    /// <param name="nulls">Those of them given as null.</param>
    private void Check(int e, TelemetryEventKind kind, long present, long nulls)
    {
        var rules = EventRules.Spec.Of(kind)!;
        Slot S(Field field) => _b.Slots[e * FieldCount + (int)field];

        // The spec's rules: a null where the schema does not allow one, a required field, lengths, sizes, ranges.
        for (var refused = nulls & rules.Allowed & ~rules.Nullable; refused != 0; refused &= refused - 1)
        {
            var field = (Field)System.Numerics.BitOperations.TrailingZeroCount(refused);
            FailEvent(e, EventRules.Key(field), $"'{EventRules.Key(field)}' must not be null.");
        }

        for (var missing = rules.Required & ~(present & ~nulls); missing != 0; missing &= missing - 1)
        {
            var key = EventRules.Key((Field)System.Numerics.BitOperations.TrailingZeroCount(missing));
            if (!HasError(e, key))
                FailEvent(e, key, $"'{key}' is required.");
        }

        for (var given = present & ~nulls & rules.Allowed; given != 0; given &= given - 1)
        {
            var field = (Field)System.Numerics.BitOperations.TrailingZeroCount(given);
            if (rules.Limits[(int)field] is not { } limit || S(field) is not { Length: not Absent } slot)
                continue;
            var fits = limit.Type switch
            {
                EventRules.FieldType.String => FitsIn(Text(slot), limit.MaxLength) && LongEnough(Text(slot), limit.MinLength),
                EventRules.FieldType.Integer => slot.Number >= limit.Minimum && slot.Number <= limit.Maximum,
                EventRules.FieldType.Array => ItemsFit(this.Items(e, field), limit.MaxItems, limit.MaxLength),
                _ => true,
            };
            if (!fits)
                FailEvent(e, EventRules.Key(field), limit.Message);
        }

        // What a schema cannot say, and the patterns (byte checks for speed; EventRulesTests holds them to the spec's).
        if (S(Field.Id).Length > 0 && !IsClientId(Text(S(Field.Id))))
            FailEvent(e, "id", "'id' must be letters, digits, '_' or '-'.");
        if (S(Field.Hostname).Length != Absent && !string.Equals(Encoding.UTF8.GetString(Text(S(Field.Hostname))), _hostname, StringComparison.OrdinalIgnoreCase))
            FailEvent(e, "hostname", $"'hostname' must be left out or be this agent's host name ('{_hostname}').");
        if (S(Field.ContainerId).Length > 0 && !IsContainerId(Text(S(Field.ContainerId))))
            FailEvent(e, "container.id", "'id' must be letters, digits, '_', '.', ':' or '-', starting with a letter or digit.");
        if (S(Field.Path).Length > 0 && !IsAbsolutePath(Text(S(Field.Path))))
            FailEvent(e, "path", "'path' must be absolute (start with '/').");
        Address(Field.LocalAddress);
        Address(Field.RemoteAddress);
        Address(Field.StdioRemoteAddress);
        if (S(Field.Reason) is { Length: not Absent, Number: (int)CoverageGapReason.MissingBatches })
            FailEvent(e, "reason", "'missing-batches' is the API's own finding (batches whose sequence numbers never arrived): an agent reports sensor-overflow, collector-overflow or agent-down.");
        if (S(Field.Until) is { Length: not Absent } until && S(Field.Time) is { Length: not Absent } from && until.Number < from.Number)
            FailEvent(e, "until", "'until' must not be before 'time' (the span is time to until).");
        if (S(Field.Redacted).Length > 0)
        {
            var reasons = this.Items(e, Field.Redacted);
            for (var i = 0; i < reasons.Count; i++)
            {
                if (!IsReasonName(reasons[i]))
                {
                    FailEvent(e, "redacted", "'redacted' holds reasons of lowercase letters, digits or '-', each starting with a letter.");
                    break;
                }
            }
        }

        void Address(Field field)
        {
            var slot = S(field);
            if (slot.Length != Absent && !HasError(e, EventRules.Key(field)) && !System.Net.IPAddress.TryParse(Text(slot), out _))
                FailEvent(e, EventRules.Key(field), $"'{EventRules.Key(field)}' must be an IPv4 or IPv6 address.");
        }
    }

    /// <summary>At least <paramref name="min"/> UTF-16 code units (no fewer than its UTF-8 bytes, so 1 is settled by the bytes).</summary>
    private static bool LongEnough(ReadOnlySpan<byte> utf8, int min) => utf8.Length >= min && (min <= 1 || Encoding.UTF8.GetCharCount(utf8) >= min);

    private static bool ItemsFit(ItemList items, int maxItems, int maxLength)
    {
        var fits = items.Count <= maxItems;
        for (var i = 0; fits && i < items.Count; i++)
            fits = FitsIn(items[i], maxLength);
        return fits;
    }

    /// <summary>At most <paramref name="max"/> UTF-16 code units (a string's length), counted only when the bytes alone do not settle it.</summary>
    private static bool FitsIn(ReadOnlySpan<byte> utf8, int max) => utf8.Length <= max || Encoding.UTF8.GetCharCount(utf8) <= max;

    // The spec's patterns as byte checks (EventRulesTests compares each with its pattern in openapi.yaml).

    /// <summary>TelemetryBatch.id and an event's id: <c>^[A-Za-z0-9_-]+$</c>.</summary>
    public static bool IsClientId(ReadOnlySpan<byte> id) => !id.IsEmpty && !id.ContainsAnyExcept(ClientIdBytes);

    /// <summary>ContainerRef.id: <c>^[A-Za-z0-9][A-Za-z0-9_.:-]*$</c>.</summary>
    public static bool IsContainerId(ReadOnlySpan<byte> id) => !id.IsEmpty && char.IsAsciiLetterOrDigit((char)id[0]) && !id.ContainsAnyExcept(ContainerIdBytes);

    /// <summary>FileAccessEvent.path: <c>^/</c>.</summary>
    public static bool IsAbsolutePath(ReadOnlySpan<byte> path) => !path.IsEmpty && path[0] == '/';

    /// <summary>An item of redacted: <c>^[a-z][a-z0-9-]{0,47}$</c> (its length is the items' maxLength's).</summary>
    public static bool IsReasonName(ReadOnlySpan<byte> name) => !name.IsEmpty && char.IsAsciiLetterLower((char)name[0]) && !name.ContainsAnyExcept(ReasonBytes);

    private static readonly SearchValues<byte> ClientIdBytes = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"u8);

    private static readonly SearchValues<byte> ContainerIdBytes = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"u8);

    private static readonly SearchValues<byte> ReasonBytes = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-"u8);

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
