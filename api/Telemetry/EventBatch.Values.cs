namespace Platform.Api.Telemetry;

public sealed partial class EventBatch
{
    // ---- Values ----

    private void ReadValue(ref Utf8JsonReader reader, int e, Field field, ref Slot slot)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            // Read as absent; the event's check refuses it where the spec does not make the field nullable.
            _nulls |= Bit(field);
            return;
        }

        switch (field)
        {
            case Field.Time or Field.Until:
                // An escaped time is no RFC 3339 time (and a lone surrogate in it would throw): only plain strings are read.
                if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && reader.ValueSpan.Length <= EventRules.Spec.MaxTimeLength && reader.TryGetDateTimeOffset(out var time))
                {
                    if (time.UtcTicks > _latestTicks)
                        FailEvent(e, Names[(int)field], _clock!.Refusal(Names[(int)field]));
                    else
                        slot = new Slot { Length = 0, Number = time.UtcTicks };
                }
                else
                    FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' must be an RFC 3339 date-time (2026-11-22T10:01:02Z).");

                break;
            case Field.Stdin or Field.Stdout or Field.Stderr or Field.Direction or Field.Result or Field.Reason:
                if ((reader.TokenType == JsonTokenType.String ? SpecValue(field, StringValue(ref reader).Span(this)) : null) is { } specValue)
                    slot = new Slot { Length = 0, Number = specValue };
                else
                {
                    FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' must be one of: {string.Join(", ", SpecValues(field))}.");
                    reader.Skip();
                }

                break;
            case Field.Pid or Field.Ppid or Field.Uid or Field.ExitCode or Field.LocalPort or Field.RemotePort or Field.StdioRemotePort or Field.LostEvents:
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var number))
                    slot = new Slot { Length = 0, Number = number };
                else
                    FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' must be an integer.");
                break;
            case Field.Operation or Field.Protocol:
                int? value = reader.TokenType != JsonTokenType.String ? null
                    : field == Field.Operation ? (int?)SpecEnum.FindUtf8<FimOperation>(StringValue(ref reader).Span(this)) : (int?)SpecEnum.FindUtf8<NetworkProtocol>(StringValue(ref reader).Span(this));
                if (value is { } v)
                    slot = new Slot { Length = 0, Number = v };
                else
                    FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' must be one of: {string.Join(", ", SpecValues(field))}.");
                break;
            case Field.Args or Field.Answers or Field.Redacted:
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' must be an array of strings.");
                    reader.Skip();
                    break;
                }

                var first = _b.Items.Count;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' must be an array of strings.");
                        reader.Skip();
                        continue;
                    }

                    _b.Items.Add(StringValue(ref reader));
                }

                slot = new Slot { Start = first, Length = _b.Items.Count - first };
                break;
            default:
                if (reader.TokenType == JsonTokenType.String)
                {
                    var text = StringValue(ref reader);
                    slot = new Slot { Start = text.Start, Length = text.Length, Number = (long)text.RawStart << 32 | (uint)text.RawLength };
                }
                else
                {
                    FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' must be a string.");
                    reader.Skip();
                }

                break;
        }
    }

    /// <summary>An enum field's value (the contract's enum as a number), or null if the text is none of its values.</summary>
    private static int? SpecValue(Field field, ReadOnlySpan<byte> text) => field switch
    {
        Field.Stdin or Field.Stdout or Field.Stderr => (int?)SpecEnum.FindUtf8<StdioKind>(text),
        Field.Direction => (int?)SpecEnum.FindUtf8<NetworkDirection>(text),
        Field.Result => (int?)SpecEnum.FindUtf8<ConnectResult>(text),
        Field.Reason => (int?)SpecEnum.FindUtf8<CoverageGapReason>(text),
        _ => null,
    };

    /// <summary>The values the reader takes for an enum field (EventRulesTests holds them to the spec's enum); none for another field.</summary>
    public static IEnumerable<string> SpecValues(Field field) => field switch
    {
        Field.Stdin or Field.Stdout or Field.Stderr => SpecEnum.Values<StdioKind>(),
        Field.Direction => SpecEnum.Values<NetworkDirection>(),
        Field.Result => SpecEnum.Values<ConnectResult>(),
        Field.Reason => SpecEnum.Values<CoverageGapReason>(),
        Field.Operation => SpecEnum.Values<FimOperation>(),
        Field.Protocol => SpecEnum.Values<NetworkProtocol>(),
        _ => [],
    };

    /// <summary>The current string's text: its bytes in the body, or unescaped after the body.</summary>
    private TextRange StringValue(ref Utf8JsonReader reader)
    {
        var raw = (int)reader.TokenStartIndex + 1;
        if (!reader.ValueIsEscaped)
            return new TextRange(raw, reader.ValueSpan.Length, raw, reader.ValueSpan.Length);
        int written;
        try
        {
            written = reader.CopyString(_b.Text.AsSpan(_textLength));
        }
        catch (InvalidOperationException e)
        {
            throw new JsonException("A string holds an invalid escape (a lone UTF-16 surrogate).", e);
        }

        // Only an escape can put a NUL in a string (JSON forbids raw control characters), so only escaped strings are searched.
        if (_b.Text.AsSpan(_textLength, written).Contains((byte)0))
            throw new JsonException($"The string at byte {raw - 1} holds a NUL (\\u0000) character, which no field accepts.");

        var range = new TextRange(_textLength, written, raw, reader.ValueSpan.Length);
        _textLength += written;
        return range;
    }

    private ReadOnlySpan<byte> PropertyName(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
            return reader.ValueSpan;
        int written;
        try
        {
            written = reader.CopyString(_b.Text.AsSpan(_textLength));
        }
        catch (InvalidOperationException e)
        {
            throw new JsonException("A field name holds an invalid escape (a lone UTF-16 surrogate).", e);
        }

        _textLength += written;
        return _b.Text.AsSpan(_textLength - written, written);
    }
}
