using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;

namespace Platform.Api.Telemetry;

/// <summary>
/// Writes an event as stored (and as it appears in bundles' events.jsonl): one line of compact JSON, <c>kind</c>
/// first, then the common fields, then the kind's own, in the order of openapi.yaml; absent values left out;
/// times UTC with 'Z'. Written byte by byte from the pushed batch (<see cref="EventBatch"/>), strings copied as
/// the sender escaped them (the reader checked they are valid JSON), because this runs for every event
/// ingested; <see cref="Segments.EventInfo"/> reads it back.
/// </summary>
public static class EventJson
{
    /// <summary>The host name as JSON string content (escaped), for <see cref="Write"/>.</summary>
    public static byte[] HostnameJson(string hostname) =>
        System.Text.Json.JsonEncodedText.Encode(hostname, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping).EncodedUtf8Bytes.ToArray();

    /// <summary>How many entries <see cref="Write"/>'s <c>tokens</c> takes: one a <see cref="Field"/>.</summary>
    public const int FieldCount = (int)Field.LostEvents + 1;

    /// <summary>Writes event <paramref name="e"/> of the batch (no line end), on the host whose <see cref="HostnameJson"/> is given.</summary>
    /// <param name="tokens">
    /// If not empty (<see cref="FieldCount"/> long), gets where in the line each field's JSON value went (strings with
    /// their quotes, arrays with their brackets; (0, 0) for a field not written), so that a reader in this process
    /// (detection) finds them without parsing the line again.
    /// </param>
    public static void Write(IBufferWriter<byte> output, EventBatch b, int e, ReadOnlySpan<byte> hostnameJson, Span<(int Start, int Length)> tokens = default)
    {
        var kind = b.Kind(e);
        tokens.Clear();
        // Never longer than the object as sent plus what the server adds (host name, quotes and names, a time).
        var w = new Line(output.GetSpan(b.SentLength(e) + hostnameJson.Length + 128), tokens);
        w.Raw("{\"kind\":\""u8).Raw(SpecEnum.ToSpecUtf8(kind)).Raw("\",\"id\":\""u8).Token(Field.Id, b.Json(e, Field.Id)).Raw("\",\"time\":\""u8);
        w.Time(b.Ticks(e)).Raw("\",\"hostname\":\""u8).Raw(hostnameJson).Raw("\""u8);
        if (b.Has(e, Field.ContainerId))
        {
            w.Raw(",\"container\":{\"id\":\""u8).Token(Field.ContainerId, b.Json(e, Field.ContainerId)).Raw("\""u8);
            w.String(",\"name\":\""u8, b, e, Field.ContainerName).String(",\"image\":\""u8, b, e, Field.ContainerImage).Raw("}"u8);
        }

        w.String(",\"processName\":\""u8, b, e, Field.ProcessName);
        switch (kind)
        {
            case TelemetryEventKind.Process_start:
                w.Number(",\"pid\":"u8, b, e, Field.Pid).Number(",\"ppid\":"u8, b, e, Field.Ppid).String(",\"parentProcessName\":\""u8, b, e, Field.ParentProcessName)
                    .String(",\"executable\":\""u8, b, e, Field.Executable).Items(",\"args\":["u8, b, e, Field.Args)
                    .String(",\"user\":\""u8, b, e, Field.User).Number(",\"uid\":"u8, b, e, Field.Uid).String(",\"cwd\":\""u8, b, e, Field.Cwd)
                    .String(",\"interpreter\":\""u8, b, e, Field.Interpreter);
                if (b.Has(e, Field.Stdio))
                {
                    w.Raw(",\"stdio\":{"u8);
                    var first = true;
                    w.Enum<StdioKind>("\"stdin\":\""u8, b, e, Field.Stdin, ref first).Enum<StdioKind>("\"stdout\":\""u8, b, e, Field.Stdout, ref first)
                        .Enum<StdioKind>("\"stderr\":\""u8, b, e, Field.Stderr, ref first);
                    if (b.Has(e, Field.StdioRemoteAddress))
                        w.Raw(first ? "\"remoteAddress\":\""u8 : ",\"remoteAddress\":\""u8).Token(Field.StdioRemoteAddress, b.Json(e, Field.StdioRemoteAddress)).Raw("\""u8);
                    first &= !b.Has(e, Field.StdioRemoteAddress);
                    w.Number(first ? "\"remotePort\":"u8 : ",\"remotePort\":"u8, b, e, Field.StdioRemotePort).Raw("}"u8);
                }

                break;
            case TelemetryEventKind.Process_exit:
                w.Number(",\"pid\":"u8, b, e, Field.Pid).Number(",\"exitCode\":"u8, b, e, Field.ExitCode);
                break;
            case TelemetryEventKind.File_access:
                w.Number(",\"pid\":"u8, b, e, Field.Pid).String(",\"path\":\""u8, b, e, Field.Path)
                    .Raw(",\"operation\":\""u8).Token(Field.Operation, SpecEnum.ToSpecUtf8((FimOperation)b.Number(e, Field.Operation)!.Value)).Raw("\""u8)
                    .String(",\"newPath\":\""u8, b, e, Field.NewPath);
                break;
            case TelemetryEventKind.Network_connect:
                w.Number(",\"pid\":"u8, b, e, Field.Pid).Raw(",\"protocol\":\""u8).Raw(SpecEnum.ToSpecUtf8((NetworkProtocol)b.Number(e, Field.Protocol)!.Value)).Raw("\""u8)
                    .String(",\"localAddress\":\""u8, b, e, Field.LocalAddress).Number(",\"localPort\":"u8, b, e, Field.LocalPort)
                    .String(",\"remoteAddress\":\""u8, b, e, Field.RemoteAddress).Number(",\"remotePort\":"u8, b, e, Field.RemotePort);
                var started = false;
                w.Enum<NetworkDirection>(",\"direction\":\""u8, b, e, Field.Direction, ref started).Enum<ConnectResult>(",\"result\":\""u8, b, e, Field.Result, ref started);
                break;
            case TelemetryEventKind.Network_listen:
                w.Number(",\"pid\":"u8, b, e, Field.Pid).Raw(",\"protocol\":\""u8).Raw(SpecEnum.ToSpecUtf8((NetworkProtocol)b.Number(e, Field.Protocol)!.Value)).Raw("\""u8)
                    .String(",\"localAddress\":\""u8, b, e, Field.LocalAddress).Number(",\"localPort\":"u8, b, e, Field.LocalPort);
                break;
            case TelemetryEventKind.Dns_query:
                w.Number(",\"pid\":"u8, b, e, Field.Pid).String(",\"name\":\""u8, b, e, Field.Name).Items(",\"answers\":["u8, b, e, Field.Answers);
                break;
            case TelemetryEventKind.Coverage_gap:
                var reasonFirst = false;
                w.Raw(",\"until\":\""u8).Time(b.Number(e, Field.Until)!.Value).Raw("\""u8)
                    .Enum<CoverageGapReason>(",\"reason\":\""u8, b, e, Field.Reason, ref reasonFirst).Number(",\"lostEvents\":"u8, b, e, Field.LostEvents);
                break;
        }

        w.Redacted(b, e);
        w.Raw("}"u8);
        output.Advance(w.Length);
    }

    /// <summary>Appends to a span large enough for the whole line; each call returns the same line (by reference).</summary>
    private ref struct Line(Span<byte> span, Span<(int Start, int Length)> tokens)
    {
        private readonly Span<byte> _span = span;
        private readonly Span<(int Start, int Length)> _tokens = tokens;

        public int Length { get; private set; }

        [UnscopedRef]
        public ref Line Raw(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_span[Length..]);
            Length += bytes.Length;
            return ref this;
        }

        /// <summary>A string's content, after its opening quote: noted as the field's token (quotes included).</summary>
        [UnscopedRef]
        public ref Line Token(Field field, ReadOnlySpan<byte> content)
        {
            if (!_tokens.IsEmpty)
                _tokens[(int)field] = (Length - 1, content.Length + 2);
            return ref Raw(content);
        }

        [UnscopedRef]
        public ref Line Time(long ticks)
        {
            Length += Rfc3339.Write(ticks, _span[Length..]);
            return ref this;
        }

        /// <summary>A string field, if present: <paramref name="prefix"/> is ',"name":"'.</summary>
        [UnscopedRef]
        public ref Line String(ReadOnlySpan<byte> prefix, EventBatch b, int e, Field field)
        {
            if (!b.Has(e, field))
                return ref this;
            return ref Raw(prefix).Token(field, b.Json(e, field)).Raw("\""u8);
        }

        /// <summary>
        /// An enum field (kept as the contract enum's number), if present: <paramref name="prefix"/> is '"name":"' and a
        /// comma goes before it unless <paramref name="first"/> (which it clears); a prefix with its own comma passes false.
        /// </summary>
        [UnscopedRef]
        public ref Line Enum<T>(ReadOnlySpan<byte> prefix, EventBatch b, int e, Field field, ref bool first) where T : struct, System.Enum
        {
            if (b.Number(e, field) is not { } value)
                return ref this;
            if (!first && prefix[0] != (byte)',')
                Raw(","u8);
            first = false;
            Raw(prefix);
            var number = (int)value;
            return ref Token(field, SpecEnum.ToSpecUtf8(System.Runtime.CompilerServices.Unsafe.As<int, T>(ref number))).Raw("\""u8);
        }

        [UnscopedRef]
        public ref Line Number(ReadOnlySpan<byte> prefix, EventBatch b, int e, Field field)
        {
            if (b.Number(e, field) is not { } value)
                return ref this;
            Raw(prefix);
            Utf8Formatter.TryFormat(value, _span[Length..], out var written);
            if (!_tokens.IsEmpty)
                _tokens[(int)field] = (Length, written);
            Length += written;
            return ref this;
        }

        /// <summary>The reasons the agent sent and those redaction at ingest added (last: the order of fields is not the contract's concern).</summary>
        [UnscopedRef]
        public ref Line Redacted(EventBatch b, int e)
        {
            var mask = b.Redactions(e);
            if (mask == 0)
                return ref Items(",\"redacted\":["u8, b, e, Field.Redacted);
            Raw(",\"redacted\":["u8);
            var sent = b.Items(e, Field.Redacted);
            for (var i = 0; i < sent.Count; i++)
            {
                Raw(i == 0 ? "\""u8 : ",\""u8).Raw(sent.Json(i)).Raw("\""u8);
                mask &= ~b.RedactedBy!.ReasonBit(sent[i]);
            }

            var first = sent.Count == 0;
            foreach (var name in b.RedactedBy!.ReasonNames(mask))
            {
                Raw(first ? "\""u8 : ",\""u8);
                Length += System.Text.Encoding.ASCII.GetBytes(name, _span[Length..]);
                Raw("\""u8);
                first = false;
            }

            return ref Raw("]"u8);
        }

        /// <summary>An array of strings, if present: <paramref name="prefix"/> is ',"name":['.</summary>
        [UnscopedRef]
        public ref Line Items(ReadOnlySpan<byte> prefix, EventBatch b, int e, Field field)
        {
            if (!b.Has(e, field))
                return ref this;
            Raw(prefix);
            var start = Length - 1;
            var items = b.Items(e, field);
            for (var i = 0; i < items.Count; i++)
                Raw(i == 0 ? "\""u8 : ",\""u8).Raw(items.Json(i)).Raw("\""u8);
            Raw("]"u8);
            if (!_tokens.IsEmpty)
                _tokens[(int)field] = (start, Length - start);
            return ref this;
        }
    }
}
