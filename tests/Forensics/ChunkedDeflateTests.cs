using System.IO.Compression;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using Platform.Api.Forensics;

namespace Platform.Tests.Forensics;

public sealed class ChunkedDeflateTests
{
    private static async Task<(byte[] Compressed, DeflatedData Result)> Deflate(IEnumerable<byte[]> lines)
    {
        var output = new MemoryStream();
        await using var deflate = new ChunkedDeflate(output);
        foreach (var line in lines)
            await deflate.WriteLineAsync(line, CancellationToken.None);
        var result = await deflate.CompleteAsync(CancellationToken.None);
        return (output.ToArray(), result);
    }

    private static byte[] Inflate(byte[] compressed)
    {
        using var inflate = new DeflateStream(new MemoryStream(compressed), CompressionMode.Decompress);
        using var output = new MemoryStream();
        inflate.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>Lines of varied length and content; some longer than a chunk, so they cross chunk boundaries.</summary>
    private static List<byte[]> Lines()
    {
        var random = new Random(7);
        var lines = new List<byte[]>();
        for (var i = 0; i < 20_000; i++)
            lines.Add(Encoding.UTF8.GetBytes($"{{\"id\":\"e-{i}\",\"path\":\"/srv/app/{random.Next(1000)}/{new string('x', random.Next(300))}\"}}"));
        var noise = new byte[ChunkedDeflate.ChunkSize + 12_345];
        random.NextBytes(noise); // incompressible: stored blocks
        lines.Insert(5_000, noise);
        return lines;
    }

    [Fact]
    public async Task Chunks_compressed_apart_make_one_deflate_stream_with_the_datas_length_crc_and_sha256()
    {
        var lines = Lines();
        var data = lines.SelectMany(l => l.Append((byte)'\n')).ToArray();

        var (compressed, result) = await Deflate(lines);

        Assert.True(data.Length > 4 * ChunkedDeflate.ChunkSize);
        Assert.Equal(data, Inflate(compressed));
        Assert.Equal(data.Length, result.Length);
        Assert.Equal(compressed.Length, result.CompressedLength);
        Assert.Equal(Crc32.HashToUInt32(data), result.Crc32);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), result.Sha256);
    }

    [Fact]
    public async Task The_same_data_gives_the_same_bytes()
    {
        var (first, _) = await Deflate(Lines());
        var (second, _) = await Deflate(Lines());

        Assert.Equal(first, second);
    }

    [Fact]
    public async Task No_data_is_a_valid_empty_stream()
    {
        var (compressed, result) = await Deflate([]);

        Assert.Empty(Inflate(compressed));
        Assert.Equal((0L, 0u, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), (result.Length, result.Crc32, result.Sha256));
    }
}
