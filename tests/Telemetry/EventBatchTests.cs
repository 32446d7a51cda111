using System.Text;
using Microsoft.AspNetCore.Http;
using Platform.Api.Telemetry;

namespace Platform.Tests.Telemetry;

/// <summary>The one-pass batch reader: what it accepts, what it refuses and under which field name, and what it stores.</summary>
public sealed class EventBatchTests
{
    private static EventBatch Read(string json) => EventBatch.Read(Encoding.UTF8.GetBytes(json), "web-01");

    private static string Batch(params string[] events) => $$"""{"id":"b-1","sequence":1,"events":[{{string.Join(",", events)}}]}""";

    private static SegmentContent Stored(EventBatch batch) =>
        Assert.Single(Segments.Build(batch, "web-01")) is var s ? s.Open() : null!;

    [Fact]
    public void Escaped_strings_are_checked_unescaped_and_stored_as_sent()
    {
        using var batch = Read(Batch("""{"kind":"file_access","id":"e\u002d1","time":"2026-11-22T10:00:00Z","processName":"c\u0070","path":"\/etc\/passwd","operation":"read"}"""));
        Assert.Null(batch.Errors);

        var stored = Stored(batch);
        var e = Assert.IsType<Platform.Contracts.FileAccessEvent>(stored.Event(0));
        Assert.Equal(("e-1", "cp", "/etc/passwd"), (e.Id, e.ProcessName, e.Path));
        Assert.Equal("2026-11-22T10:00:00.000Z web-01 cp(?) read /etc/passwd", Encoding.UTF8.GetString(stored.TimelineLine(0).Span));
    }

    [Fact]
    public void Control_characters_never_break_a_line()
    {
        using var batch = Read(Batch("""{"kind":"file_access","id":"e","time":"2026-11-22T10:00:00Z","path":"/a\nb\u0085c\u00a0d","operation":"write"}"""));
        var stored = Stored(batch);

        Assert.Equal("2026-11-22T10:00:00.000Z web-01 ?(?) write /a\\nb\\u0085c\u00a0d", Encoding.UTF8.GetString(stored.TimelineLine(0).Span));
        Assert.DoesNotContain((byte)'\n', stored.EventJson(0).ToArray());
        Assert.Equal("/a\nb\u0085c\u00a0d", Assert.IsType<Platform.Contracts.FileAccessEvent>(stored.Event(0)).Path);
    }

    [Theory]
    [InlineData("""{"kind":"process_exit","id":"e","time":"2026-11-22T10:00:00Z","pid":1,"path":"/etc"}""", "events[0].path")]
    [InlineData("""{"kind":"process_exit","id":"e","time":"2026-11-22T10:00:00Z","pid":1,"pid":2}""", "events[0].pid")]
    [InlineData("""{"kind":"process_exit","id":"e","time":"2026-11-22T10:00:00Z","pid":"12"}""", "events[0].pid")]
    [InlineData("""{"kind":"process_exit","id":"e","time":"yesterday","pid":1}""", "events[0].time")]
    [InlineData("""{"kind":"process_exit","id":"e","time":"2026-11-22T10:00:00Z"}""", "events[0].pid")]
    [InlineData("""{"kind":"process_exit","id":"e","time":"2026-11-22T10:00:00Z","pid":1,"container":{"id":"-x"}}""", "events[0].container.id")]
    [InlineData("""{"kind":"process_exit","id":"e","time":"2026-11-22T10:00:00Z","pid":1,"container":{"name":"n"}}""", "events[0].container.id")]
    [InlineData("""{"kind":"network_connect","id":"e","time":"2026-11-22T10:00:00Z","protocol":"sctp","remoteAddress":"10.0.0.1","remotePort":80}""", "events[0].protocol")]
    [InlineData("""{"kind":"network_connect","id":"e","time":"2026-11-22T10:00:00Z","protocol":"tcp","remoteAddress":"10.0.0.1","remotePort":70000}""", "events[0].remotePort")]
    [InlineData("""{"kind":"dns_query","id":"e","time":"2026-11-22T10:00:00Z","name":"x","answers":["a",1]}""", "events[0].answers")]
    [InlineData("""{"kind":"dns_query","id":"e","time":"2026-11-22T10:00:00Z","name":"x","hostname":"db-01"}""", "events[0].hostname")]
    [InlineData("""[]""", "events[0]")]
    // null for a field openapi.yaml does not make nullable: refused, not read as absent.
    [InlineData("""{"kind":"process_start","id":"e","time":"2026-11-22T10:00:00Z","pid":1,"executable":"/bin/sh","args":null}""", "events[0].args")]
    [InlineData("""{"kind":"process_start","id":"e","time":"2026-11-22T10:00:00Z","pid":1,"executable":"/bin/sh","stdio":null}""", "events[0].stdio")]
    [InlineData("""{"kind":"process_start","id":"e","time":"2026-11-22T10:00:00Z","pid":1,"executable":"/bin/sh","stdio":{"stdin":null}}""", "events[0].stdio.stdin")]
    [InlineData("""{"kind":"dns_query","id":"e","time":"2026-11-22T10:00:00Z","name":"x","stdio":null}""", "events[0].stdio")]
    [InlineData("""{"kind":"dns_query","id":"e","time":"2026-11-22T10:00:00Z","name":"x","container":null}""", "events[0].container")]
    [InlineData("""{"kind":"network_connect","id":"e","time":"2026-11-22T10:00:00Z","protocol":"tcp","remoteAddress":"10.0.0.1","remotePort":80,"result":null}""", "events[0].result")]
    public void A_bad_field_is_refused_under_its_json_name(string e, string field)
    {
        using var batch = Read(Batch(e));

        Assert.NotNull(batch.Errors);
        Assert.Contains(field, batch.Errors.Keys);
    }

    [Fact]
    public void The_batch_itself_is_checked()
    {
        using var noId = Read("""{"sequence":0,"events":[],"extra":1}""");
        Assert.Equal(["events", "extra", "id", "sequence"], noId.Errors!.Keys.Order());

        var many = string.Join(",", Enumerable.Repeat("""{"kind":"process_exit","id":"e","time":"2026-11-22T10:00:00Z","pid":1}""", EventBatch.MaxEvents + 1));
        using var tooMany = Read(Batch(many));
        Assert.Equal(["events"], tooMany.Errors!.Keys);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'"', 0xC3, (byte)'"' })]
    [InlineData(new byte[] { (byte)'[', (byte)']' })]
    [InlineData(new byte[] { (byte)'{' })]
    public void A_body_that_is_not_one_json_object_of_utf8_text_is_a_bad_request(byte[] body)
    {
        var refused = Assert.Throws<BadHttpRequestException>(() => EventBatch.Read(body, "web-01"));
        Assert.Equal(StatusCodes.Status400BadRequest, refused.StatusCode);
    }
}
