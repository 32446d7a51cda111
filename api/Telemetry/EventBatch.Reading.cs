namespace Platform.Api.Telemetry;

public sealed partial class EventBatch
{
    // ---- Reading ----

    private void ReadBatch(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            throw new BadHttpRequestException("The JSON body must be an object (a TelemetryBatch).");
        bool hasId = false, hasSequence = false, hasEvents = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = PropertyName(ref reader);
            reader.Read();
            if ((name.SequenceEqual("id"u8) && hasId) || (name.SequenceEqual("sequence"u8) && hasSequence) || (name.SequenceEqual("events"u8) && hasEvents))
            {
                Fail(Encoding.UTF8.GetString(name), $"'{Encoding.UTF8.GetString(name)}' is given twice.");
                reader.Skip();
            }
            else if (name.SequenceEqual("id"u8))
            {
                hasId = true;
                var id = reader.TokenType == JsonTokenType.String ? StringValue(ref reader).Span(this) : default;
                var rule = EventRules.Spec.BatchId;
                if (IsClientId(id) && FitsIn(id, rule.MaxLength) && LongEnough(id, rule.MinLength))
                    Id = Encoding.UTF8.GetString(id);
                else
                    Fail("id", $"'id' must be {rule.MinLength} to {rule.MaxLength} letters, digits, '_' or '-'.");
            }
            else if (name.SequenceEqual("sequence"u8))
            {
                hasSequence = true;
                var rule = EventRules.Spec.Sequence;
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var sequence) && sequence >= rule.Minimum && sequence <= rule.Maximum)
                    Sequence = sequence;
                else
                    Fail("sequence", rule.Message);
            }
            else if (name.SequenceEqual("events"u8))
            {
                hasEvents = true;
                ReadEvents(ref reader);
            }
            else
            {
                Fail(Encoding.UTF8.GetString(name), "Not a field of a telemetry batch (id, sequence, events).");
                reader.Skip();
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            throw new BadHttpRequestException("The JSON body must be one object (a TelemetryBatch).");
        if (!hasId)
            Fail("id", "'id' is required.");
        if (!hasSequence)
            Fail("sequence", "'sequence' is required.");
        if (!hasEvents)
            Fail("events", "'events' is required.");
    }

    private void ReadEvents(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            Fail("events", "'events' must be an array of events.");
            reader.Skip();
            return;
        }

        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (index >= EventRules.Spec.MaxEvents)
            {
                reader.Skip();
                index++;
                continue;
            }

            ReadEvent(ref reader, index++);
        }

        var (min, max) = (EventRules.Spec.MinEvents, EventRules.Spec.MaxEvents);
        Count = Math.Min(index, max);
        if (index < min)
            Fail("events", min == 1 ? "'events' must not be empty." : $"At least {min} events a batch.");
        if (index > max)
            Fail("events", $"At most {max} events a batch.");
    }

    private void ReadEvent(ref Utf8JsonReader reader, int e)
    {
        var slots = _b.Slots.AsSpan(e * FieldCount, FieldCount);
        slots.Fill(new Slot { Length = Absent });
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            FailEvent(e, null, "Each event must be an object.");
            reader.Skip();
            _b.Kinds[e] = (TelemetryEventKind)(-1);
            return;
        }

        var start = reader.TokenStartIndex;
        TelemetryEventKind? kind = null;
        var present = 0L;
        _nulls = 0;
        _nullContainer = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = PropertyName(ref reader);
            reader.Read();
            if (name.SequenceEqual("kind"u8))
            {
                kind = reader.TokenType == JsonTokenType.String ? SpecEnum.FindUtf8<TelemetryEventKind>(StringValue(ref reader).Span(this)) : null;
                if (kind is null)
                    FailEvent(e, "kind", KindRequired);
                continue;
            }

            if (name.SequenceEqual("container"u8))
            {
                ReadContainer(ref reader, e, slots, ref present);
                continue;
            }

            if (name.SequenceEqual("stdio"u8))
            {
                if ((present & Bit(Field.Stdio)) != 0)
                {
                    FailEvent(e, "stdio", "'stdio' is given twice.");
                    reader.Skip();
                }
                else
                    ReadStdio(ref reader, e, slots, ref present);
                continue;
            }

            if (Lookup(name) is not { } field)
            {
                FailEvent(e, Encoding.UTF8.GetString(name), "Not a field of an event.");
                reader.Skip();
                continue;
            }

            if ((present & Bit(field)) != 0)
            {
                FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' is given twice.");
                reader.Skip();
                continue;
            }

            present |= Bit(field);
            ReadValue(ref reader, e, field, ref slots[(int)field]);
        }

        _b.ObjectLengths[e] = (int)(reader.BytesConsumed - start);
        if (kind is not { } k)
        {
            if (!HasError(e, "kind"))
                FailEvent(e, "kind", KindRequired);
            _b.Kinds[e] = (TelemetryEventKind)(-1);
            return;
        }

        _b.Kinds[e] = k;
        var rules = EventRules.Spec.Of(k)!;
        // A stdio object on another kind is named once, as 'stdio', not by its parts.
        var foreign = present & ~rules.Allowed & ~StdioParts;
        for (var f = 0; foreign != 0 && f < FieldCount; f++)
        {
            if ((foreign & (1L << f)) != 0)
                FailEvent(e, Names[f], $"Not a field of a {SpecEnum.ToSpec(k)} event.");
        }

        if (_nullContainer && !rules.ContainerNullable)
            FailEvent(e, "container", "'container' must not be null (leave it out for an event of no container).");
        Check(e, k, present, _nulls);
    }

    /// <summary>The fields of the event being read that were given as null (bits of <see cref="Field"/>), and whether its container was.</summary>
    private long _nulls;

    private bool _nullContainer;

    private static readonly string KindRequired = $"'kind' is required: one of {string.Join(", ", SpecEnum.Values<TelemetryEventKind>())}.";

    private void ReadStdio(ref Utf8JsonReader reader, int e, Span<Slot> slots, ref long present)
    {
        present |= Bit(Field.Stdio);
        if (reader.TokenType == JsonTokenType.Null)
        {
            _nulls |= Bit(Field.Stdio);
            return;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            FailEvent(e, "stdio", "'stdio' must be an object (stdin, stdout, stderr, remoteAddress, remotePort).");
            reader.Skip();
            return;
        }

        slots[(int)Field.Stdio] = new Slot { Length = 0 };
        ReadMembers(ref reader, e, slots, ref present, "stdio", "Not a field of stdio (stdin, stdout, stderr, remoteAddress, remotePort).", static name =>
            name.SequenceEqual("stdin"u8) ? Field.Stdin : name.SequenceEqual("stdout"u8) ? Field.Stdout : name.SequenceEqual("stderr"u8) ? Field.Stderr
            : name.SequenceEqual("remoteAddress"u8) ? Field.StdioRemoteAddress : name.SequenceEqual("remotePort"u8) ? Field.StdioRemotePort : null);
    }

    private void ReadContainer(ref Utf8JsonReader reader, int e, Span<Slot> slots, ref long present)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            _nullContainer = true;
            return;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            FailEvent(e, "container", "'container' must be an object (id, name, image).");
            reader.Skip();
            return;
        }

        ReadMembers(ref reader, e, slots, ref present, "container", "Not a field of a container (id, name, image).", static name =>
            name.SequenceEqual("id"u8) ? Field.ContainerId : name.SequenceEqual("name"u8) ? Field.ContainerName : name.SequenceEqual("image"u8) ? Field.ContainerImage : null);

        // Given as null is not missing: the event's check says that null is not allowed.
        for (var missing = EventRules.Spec.ContainerRequired & ~present; missing != 0; missing &= missing - 1)
        {
            var field = (Field)System.Numerics.BitOperations.TrailingZeroCount(missing);
            FailEvent(e, EventRules.Key(field), $"'{Names[(int)field]}' is required.");
        }
    }

    private delegate Field? MemberField(ReadOnlySpan<byte> name);

    /// <summary>Reads the members of a nested object (stdio, container) into their slots: a name it does not have, or one given twice, fails the event.</summary>
    private void ReadMembers(ref Utf8JsonReader reader, int e, Span<Slot> slots, ref long present, string objectName, string unknown, MemberField fieldNamed)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = PropertyName(ref reader);
            reader.Read();
            var field = fieldNamed(name);
            if (field is not { } f || (present & Bit(f)) != 0)
            {
                FailEvent(e, objectName + "." + Encoding.UTF8.GetString(name), field is null ? unknown : "Given twice.");
                reader.Skip();
                continue;
            }

            present |= Bit(f);
            ReadValue(ref reader, e, f, ref slots[(int)f]);
        }
    }
}
