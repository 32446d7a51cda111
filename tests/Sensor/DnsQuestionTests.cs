using Platform.Agent.Sensor;

namespace Platform.Tests.Sensor;

/// <summary>The name of a DNS query read from the first bytes of a datagram to port 53 (RFC 1035 4.1).</summary>
public sealed class DnsQuestionTests
{
    private static byte[] Query(string name, ushort flags = 0x0100, ushort questions = 1)
    {
        var bytes = new List<byte> { 0x12, 0x34, (byte)(flags >> 8), (byte)flags, (byte)(questions >> 8), (byte)questions, 0, 0, 0, 0, 0, 0 };
        foreach (var label in name.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(System.Text.Encoding.ASCII.GetBytes(label));
        }

        bytes.AddRange([0, 0, 1, 0, 1]);
        return [.. bytes];
    }

    [Theory]
    [InlineData("example.com")]
    [InlineData("a.b.c.d.example.org")]
    [InlineData("xn--bcher-kva.example")]
    public void The_question_name_of_a_query_is_read(string name) => Assert.Equal(name, DnsQuestion.Name(Query(name)));

    [Fact]
    public void The_root_is_a_dot() => Assert.Equal(".", DnsQuestion.Name(Query("")));

    [Fact]
    public void A_byte_that_is_not_printable_is_escaped_as_zone_files_write_it()
    {
        var query = Query("ab.example");
        query[13] = 0x07;
        Assert.Equal("\\007b.example", DnsQuestion.Name(query));
    }

    [Fact]
    public void A_response_a_query_with_no_question_and_another_opcode_are_not_queries()
    {
        Assert.Null(DnsQuestion.Name(Query("example.com", flags: 0x8180)));
        Assert.Null(DnsQuestion.Name(Query("example.com", questions: 0)));
        Assert.Null(DnsQuestion.Name(Query("example.com", flags: 0x2800))); // UPDATE
    }

    [Fact]
    public void A_truncated_or_malformed_name_is_no_name()
    {
        var query = Query("example.com");
        Assert.Null(DnsQuestion.Name(query.AsSpan(0, 16)));
        Assert.Null(DnsQuestion.Name(query.AsSpan(0, 12)));
        query[12] = 0xC0; // a compression pointer where a query has a label
        Assert.Null(DnsQuestion.Name(query));
        var tooLong = Query(string.Join('.', Enumerable.Repeat(new string('a', 63), 5)));
        Assert.Null(DnsQuestion.Name(tooLong)); // 319 characters: more than a name can have
    }
}
