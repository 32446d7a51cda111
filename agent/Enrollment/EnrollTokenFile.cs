using System.Text;

namespace Platform.Agent.Enrollment;

/// <summary>
/// The enrollment token read from a file (<c>--enroll-token-file</c>, <c>Platform:Agent:EnrollTokenFile</c>), so that it
/// is never on a command line (<c>ps</c>), in a unit file or in the journal. The file is read at start, only while the
/// state directory holds no credential: once enrolled the agent never needs the token again, and the file may be
/// emptied or removed. Giving the token both ways is a mistake, named at start whether enrolled or not.
/// </summary>
public static class EnrollTokenFile
{
    /// <summary>More than any enrollment token: a file this large holds something else (or is /dev/zero).</summary>
    private const int MaxBytes = 4096;

    /// <summary>
    /// Puts the file's token into <see cref="AgentOptions.EnrollToken"/> when enrollment will need it; returns one line
    /// saying what is wrong (never the file's content), or null.
    /// </summary>
    public static string? Load(AgentOptions options)
    {
        if (string.IsNullOrEmpty(options.EnrollTokenFile))
            return null;
        var path = options.EnrollTokenFile;
        if (!string.IsNullOrEmpty(options.EnrollToken))
            return $"The enrollment token is given twice, as {AgentOptions.Section}:EnrollToken (--enroll-token) and as the file {path} ({AgentOptions.Section}:EnrollTokenFile, --enroll-token-file): give one.";
        if (File.Exists(CredentialStore.PathIn(options.StateDirectory)))
            return null; // enrolled: the token is not read, and need not be there any more

        string text;
        try
        {
            using var file = File.OpenHandle(path);
            var bytes = new byte[MaxBytes + 1];
            var length = 0;
            int read;
            while (length < bytes.Length && (read = RandomAccess.Read(file, bytes.AsSpan(length), length)) > 0)
                length += read;
            if (length > MaxBytes)
                return $"The enrollment token file {path} ({AgentOptions.Section}:EnrollTokenFile) is larger than {MaxBytes} bytes: it does not hold an enrollment token.";
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes, 0, length);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return $"The enrollment token file {path} ({AgentOptions.Section}:EnrollTokenFile) does not exist: write the enrollment token (ple_...) into it.";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DecoderFallbackException)
        {
            return $"The enrollment token file {path} ({AgentOptions.Section}:EnrollTokenFile) cannot be read: {e.Message}";
        }

        // An editor's or echo's line end, and a byte-order mark, are not part of the token.
        var token = text.Trim().TrimStart('\uFEFF').Trim();
        if (token.Length == 0)
            return $"The enrollment token file {path} ({AgentOptions.Section}:EnrollTokenFile) is empty: write the enrollment token (ple_...) into it.";
        if (token.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            return $"The enrollment token file {path} ({AgentOptions.Section}:EnrollTokenFile) must hold the enrollment token alone, on one line; it holds more.";
        options.EnrollToken = token;
        return null;
    }
}
