using System.Security.Cryptography;
using Platform.Agent.Fim;

namespace Platform.Tests.Agent;

/// <summary>The allowAppend check's view of a file: its size and hash always describe the same bytes.</summary>
public sealed class AppendOnlyFilesTests
{
    [Fact]
    public void A_file_appended_to_while_it_is_hashed_gives_the_size_that_was_hashed()
    {
        // The writer's append lands after the file was opened (its length then: 7) and before its bytes are read: the
        // state must be 14 bytes and their hash, or the next append is compared with 7 bytes whose hash is of 14 and
        // looks like a rewrite: a false alert, with a wrong "before" (the race of an append with the watcher's look at
        // the file, likelier the busier the machine).
        using var file = new AppendedWhileRead("line 1\n"u8.ToArray(), "line 2\n"u8.ToArray());

        var (size, sha256) = AppendOnlyFiles.Hash(file, long.MaxValue);

        Assert.Equal(14, size);
        Assert.Equal(SHA256.HashData("line 1\nline 2\n"u8), sha256);
    }

    [Fact]
    public void A_prefix_is_the_hash_of_that_many_bytes_and_a_shorter_file_says_how_short()
    {
        using var file = new MemoryStream("line 1\nline 2\n"u8.ToArray());
        var (size, sha256) = AppendOnlyFiles.Hash(file, 7);
        Assert.Equal(7, size);
        Assert.Equal(SHA256.HashData("line 1\n"u8), sha256);

        using var shorter = new MemoryStream("line 1\n"u8.ToArray());
        Assert.Equal(7L, AppendOnlyFiles.Hash(shorter, 14).Size);
    }

    /// <summary>A file whose length is read before a writer appends to it, and whose bytes after.</summary>
    private sealed class AppendedWhileRead(byte[] content, byte[] appended) : Stream
    {
        private readonly MemoryStream _bytes = new([.. content, .. appended]);
        private bool _read;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => _read ? _bytes.Length : content.Length;

        public override long Position
        {
            get => _bytes.Position;
            set => _bytes.Position = value;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            _read = true;
            return _bytes.Read(buffer, offset, count);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => _bytes.Seek(offset, origin);

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
