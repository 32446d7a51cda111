using System.Buffers;

namespace Platform.Api.Telemetry;

public sealed partial class EventBatch
{
    // ---- Redaction (docs/redaction.md) ----

    /// <summary>
    /// Replaces secrets in every free-text field of a checked batch (the arguments as one command line), whatever the
    /// agent did before: an old agent sends them in clear. The replaced text is written after the body, so the stored
    /// form, the timeline and detection read only the redacted text; the reasons go to the event's <c>redacted</c>.
    /// </summary>
    public void Redact(SecretRedactor redactor)
    {
        if (_errors is not null)
            throw new InvalidOperationException("A batch with errors is not redacted.");
        _redactor = redactor;
        var output = t_redacted ??= new ArrayBufferWriter<byte>(8 * 1024);
        for (var e = 0; e < Count; e++)
        {
            ulong mask = 0;
            var growth = 0;
            One(e, Field.ProcessName);
            One(e, Field.ContainerName);
            One(e, Field.ContainerImage);
            switch (_b.Kinds[e])
            {
                case TelemetryEventKind.Process_start:
                    One(e, Field.ParentProcessName);
                    One(e, Field.Executable);
                    One(e, Field.Cwd);
                    One(e, Field.Interpreter);
                    var args = _b.Slots[e * FieldCount + (int)Field.Args];
                    if (args.Length > 0)
                    {
                        var state = new SecretRedactor.State();
                        for (var i = 0; i < args.Length; i++)
                        {
                            var item = _b.Items[args.Start + i];
                            output.ResetWrittenCount();
                            var found = redactor.Redact(_b.Text.AsSpan(item.Start, item.Length), ref state, output);
                            if (found == 0)
                                continue;
                            mask |= found;
                            var (start, length, rawStart, rawLength) = Append(Fit(output.WrittenSpan, MaxLength[(int)Field.Args]));
                            growth += Math.Max(0, rawLength - item.RawLength);
                            _b.Items[args.Start + i] = new TextRange(start, length, rawStart, rawLength);
                        }
                    }

                    break;
                case TelemetryEventKind.File_access:
                    One(e, Field.Path);
                    One(e, Field.NewPath);
                    break;
            }

            _b.Redactions[e] = mask;
            // The reasons' array: a name and its quotes and comma each.
            _b.Growth[e] = mask == 0 ? growth : growth + 16 + 52 * System.Numerics.BitOperations.PopCount(mask);

            void One(int e, Field field)
            {
                ref var slot = ref _b.Slots[e * FieldCount + (int)field];
                if (slot.Length <= 0)
                    return;
                output.ResetWrittenCount();
                var state = new SecretRedactor.State();
                var found = redactor.Redact(_b.Text.AsSpan(slot.Start, slot.Length), ref state, output);
                if (found == 0)
                    return;
                mask |= found;
                var (start, length, rawStart, rawLength) = Append(Fit(output.WrittenSpan, MaxLength[(int)field]));
                growth += Math.Max(0, rawLength - (int)(uint)slot.Number);
                slot = new Slot { Start = start, Length = length, Number = (long)rawStart << 32 | (uint)rawLength };
            }
        }
    }

    /// <summary>Each field's longest length in openapi.yaml (an argument's, for args): a replaced text stays within it.</summary>
    private static int[] MaxLength => RedactionLimits.MaxLength;

    /// <summary>Apart, so that the rules are read on first redaction, after EventBatch's own statics.</summary>
    private static class RedactionLimits
    {
        public static readonly int[] MaxLength = Enum.GetValues<Field>().Select(EventRules.Spec.MaxLengthOf).ToArray();
    }

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_redacted;

    /// <summary>Adds a replaced text after the body: as text, then as JSON string content.</summary>
    private TextRange Append(ReadOnlySpan<byte> text)
    {
        var needed = _textLength + 7 * text.Length + 16;
        if (needed > _b.Text.Length)
            Array.Resize(ref _b.Text, Math.Max(needed, 2 * _b.Text.Length));
        var start = _textLength;
        text.CopyTo(_b.Text.AsSpan(start));
        _textLength += text.Length;
        System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping.EncodeUtf8(text, _b.Text.AsSpan(_textLength), out _, out var written);
        var raw = _textLength;
        _textLength += written;
        return new TextRange(start, text.Length, raw, written);
    }

    /// <summary>The marker may be longer than the secret it replaced: kept within the field's limit (openapi.yaml).</summary>
    private static ReadOnlySpan<byte> Fit(ReadOnlySpan<byte> utf8, int max)
    {
        if (FitsIn(utf8, max))
            return utf8;
        var text = Encoding.UTF8.GetString(utf8);
        return Encoding.UTF8.GetBytes(text[..(char.IsHighSurrogate(text[max - 1]) ? max - 1 : max)]);
    }
}
