using System.IO.Compression;
using Platform.Api.Telemetry;
using static Platform.Tests.Telemetry.TelemetryEvents;

namespace Platform.Tests.Telemetry;

/// <summary>Segments are stored in one stream now (events, then timeline); those stored before in two still read the same.</summary>
public sealed class SegmentFormatTests
{
    private static byte[] Deflate(ReadOnlySpan<byte> data)
    {
        var output = new MemoryStream();
        using (var deflate = new DeflateStream(output, CompressionLevel.Fastest, leaveOpen: true))
            deflate.Write(data);
        return output.ToArray();
    }

    private static byte[] Inflate(byte[] data)
    {
        using var inflate = new DeflateStream(new MemoryStream(data), CompressionMode.Decompress);
        var output = new MemoryStream();
        inflate.CopyTo(output);
        return output.ToArray();
    }

    [Fact]
    public void A_segment_in_one_stream_and_the_same_in_two_read_back_the_same_lines()
    {
        var events = Reads("fmt", T0, 40).Append(ShellFromJava("shell", T0.AddSeconds(1))).Append(Connect("exfil", T0.AddSeconds(2))).ToList();
        var segment = Assert.Single(Segments.Build(events.Where(e => e.Container is null).ToList(), "web-01"));
        var whole = Inflate(segment.Data);
        var (eventLines, timelineLines) = (whole[..(int)segment.RawBytes], whole[(int)segment.RawBytes..]);

        var oneStream = segment.Open();
        var twoStreams = new SegmentContent(Deflate(eventLines), (int)segment.RawBytes, Deflate(timelineLines), segment.Times);

        Assert.Equal(segment.EventCount, oneStream.Count);
        Assert.Equal(eventLines.Count(b => b == '\n'), oneStream.Count);
        for (var i = 0; i < oneStream.Count; i++)
        {
            Assert.Equal(twoStreams.EventJson(i).ToArray(), oneStream.EventJson(i).ToArray());
            Assert.Equal(twoStreams.TimelineLine(i).ToArray(), oneStream.TimelineLine(i).ToArray());
            Assert.Equal(twoStreams.Ticks[i], oneStream.Ticks[i]);
        }

        Assert.StartsWith("{\"kind\":", System.Text.Encoding.UTF8.GetString(oneStream.EventJson(0).Span));
        Assert.StartsWith("2026-11-22T10:00:00", System.Text.Encoding.UTF8.GetString(oneStream.TimelineLine(0).Span));
    }

    [Fact]
    public void A_segment_whose_parts_do_not_line_up_is_refused()
    {
        var segment = Assert.Single(Segments.Build(Reads("bad", T0, 10).Where(e => e.Container is null).ToList(), "web-01"));

        Assert.Throws<InvalidDataException>(() => new SegmentContent(segment.Data, (int)segment.RawBytes + 7, Segment.NoSeparateTimeline, segment.Times));
        Assert.Throws<InvalidDataException>(() => new SegmentContent(segment.Data, (int)segment.RawBytes, Segment.NoSeparateTimeline, segment.Times[8..]));
    }
}
