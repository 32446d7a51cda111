using System.Text;

namespace Platform.Contracts;

/// <summary>Names that hold a secret (and the reasons they give), URL schemes, and programs that read options their own way.</summary>
public sealed partial class SecretRedactor
{
    private static readonly byte[][] SecretEndings =
        [.. new[] { "password", "passwd", "passphrase", "secret", "token", "apikey", "accesskey", "secretkey", "privatekey", "accountkey", "credential", "credentials", "bearer" }.Select(Encoding.ASCII.GetBytes)];

    private static readonly byte[][] SecretWords = [.. new[] { "pass", "pwd", "auth", "authorization", "dsn", "sig" }.Select(Encoding.ASCII.GetBytes)];

    private static readonly byte[][] KeyQualifiers =
        [.. new[] { "api", "access", "private", "secret", "account", "sharedaccess", "master", "encryption", "signing", "session", "client" }.Select(Encoding.ASCII.GetBytes)];

    /// <summary>A last part that says the value is about a secret, not the secret (a file, a name, a length...).</summary>
    private static readonly byte[][] NotTheSecret =
        [.. new[] { "file", "path", "dir", "env", "type", "id", "name", "length", "len", "size", "ttl", "expiry", "expires", "stdin", "prompt", "cmd",
            "command", "mode", "count", "min", "max", "url", "uri", "endpoint", "method", "kind", "provider", "format", "helper", "store", "version", "header", "policy" }.Select(Encoding.ASCII.GetBytes)];

    /// <summary>
    /// A name that holds a secret: split at '-', '_' and '.', some part ends with password, secret, token, apikey...
    /// or is pass, pwd, auth, dsn; or two parts read api key, access key...; unless the last part says it is only
    /// about the secret (token-file, password-stdin) or the first is "no" (--no-password).
    /// </summary>
    private bool IsSecretName(ReadOnlySpan<byte> name, out bool sig)
    {
        sig = false;
        if (name.Length is 0 or > MaxNameLength)
            return false;
        Span<byte> lower = stackalloc byte[name.Length];
        for (var i = 0; i < name.Length; i++)
            lower[i] = (byte)(name[i] is >= (byte)'A' and <= (byte)'Z' ? name[i] | 0x20 : name[i]);
        // Most names hold none of the words: settled without splitting (this runs for every option and NAME= seen).
        if (_names.Length == 0 && !MayBeSecret(lower))
            return false;

        Span<Range> parts = stackalloc Range[32];
        var count = 0;
        for (int i = 0, from = 0; i <= lower.Length && count < parts.Length; i++)
        {
            if (i < lower.Length && lower[i] is not ((byte)'-' or (byte)'_' or (byte)'.'))
                continue;
            if (i > from)
                parts[count++] = from..i;
            from = i + 1;
        }

        if (count == 0)
            return false;
        var last = lower[parts[count - 1]];
        if (lower[parts[0]].SequenceEqual("no"u8) || Contains(NotTheSecret, last))
            return false;
        if (count == 1 && last.SequenceEqual("sig"u8))
        {
            sig = true;
            return true;
        }

        for (var p = 0; p < count; p++)
        {
            var part = lower[parts[p]];
            if (Contains(SecretWords, part) && !part.SequenceEqual("sig"u8))
                return true;
            foreach (var ending in SecretEndings)
            {
                if (part.EndsWith(ending))
                    return true;
            }

            foreach (var ending in _names)
            {
                if (part.EndsWith(ending))
                    return true;
            }

            if (p > 0 && part.SequenceEqual("key"u8) && Contains(KeyQualifiers, lower[parts[p - 1]]))
                return true;
        }

        return false;
    }

    private static bool MayBeSecret(ReadOnlySpan<byte> lower) =>
        lower.IndexOf("pass"u8) >= 0 || lower.IndexOf("pw"u8) >= 0 || lower.IndexOf("secret"u8) >= 0 || lower.IndexOf("token"u8) >= 0
        || lower.IndexOf("key"u8) >= 0 || lower.IndexOf("auth"u8) >= 0 || lower.IndexOf("dsn"u8) >= 0 || lower.IndexOf("sig"u8) >= 0
        || lower.IndexOf("credential"u8) >= 0 || lower.IndexOf("bearer"u8) >= 0;

    private static bool Contains(byte[][] words, ReadOnlySpan<byte> word)
    {
        foreach (var w in words)
        {
            if (word.SequenceEqual(w))
                return true;
        }

        return false;
    }

    /// <summary>The reason for a secret found by its name.</summary>
    private static int NameReason(ReadOnlySpan<byte> name, bool option)
    {
        Span<byte> key = stackalloc byte[Math.Min(name.Length, MaxNameLength)];
        var length = 0;
        foreach (var b in name[..key.Length])
        {
            if (b is not ((byte)'-' or (byte)'_' or (byte)'.'))
                key[length++] = (byte)(b is >= (byte)'A' and <= (byte)'Z' ? b | 0x20 : b);
        }

        var k = key[..length];
        if (k.StartsWith("aws"u8) || k.SequenceEqual("secretaccesskey"u8))
            return AwsSecretKey;
        if (k.SequenceEqual("accountkey"u8) || k.SequenceEqual("sharedaccesskey"u8))
            return AzureAccountKey;
        if (k.SequenceEqual("privatekey"u8) && name.IndexOf((byte)'_') > 0 && !option)
            return GcpPrivateKey;
        return option ? SecretOption : SecretVariable;
    }

    private static readonly byte[][] Schemes =
        [.. new[] { "bearer", "basic", "token", "digest", "negotiate", "ntlm", "apikey", "sso-key", "aws4-hmac-sha256", "hoba", "mutual", "dpop", "gssapi" }.Select(Encoding.ASCII.GetBytes)];

    private static bool IsScheme(ReadOnlySpan<byte> word)
    {
        word = TrimEndQuotes(word);
        if (word.Length > 20)
            return false;
        foreach (var scheme in Schemes)
        {
            if (AsciiEqualsIgnoreCase(word, scheme))
                return true;
        }

        return false;
    }

    private static readonly (byte[] Name, Program Program)[] Commands =
    [
        .. new[] { "mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlshow", "mysqlcheck", "mysqlpump", "mysqlsh", "mysqlbinlog", "mariadb", "mariadb-dump", "mariadb-admin" }
            .Select(n => (Encoding.ASCII.GetBytes(n), Program.Mysql)),
        (Encoding.ASCII.GetBytes("sshpass"), Program.Sshpass),
        (Encoding.ASCII.GetBytes("curl"), Program.Curl),
        (Encoding.ASCII.GetBytes("redis-cli"), Program.Redis),
        .. new[] { "mongo", "mongosh", "mongodump", "mongorestore", "mongoexport", "mongoimport" }.Select(n => (Encoding.ASCII.GetBytes(n), Program.Mongo)),
    ];

    /// <summary>A program whose options are read in its own way: the word's last path part.</summary>
    private static Program? Command(ReadOnlySpan<byte> word)
    {
        word = TrimEndQuotes(word);
        if (word.Length > 256)
            return null;
        var name = word[(word.LastIndexOf((byte)'/') + 1)..];
        if (name.Length is < 4 or > 13)
            return null;
        foreach (var (command, program) in Commands)
        {
            if (name.SequenceEqual(command))
                return program;
        }

        return null;
    }

    private static ReadOnlySpan<byte> TrimEndQuotes(ReadOnlySpan<byte> word) => word.TrimEnd("\"'`);}],"u8);

    private static bool AsciiEqualsIgnoreCase(ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> lower)
    {
        if (bytes.Length != lower.Length)
            return false;
        for (var i = 0; i < bytes.Length; i++)
        {
            if ((bytes[i] is >= (byte)'A' and <= (byte)'Z' ? bytes[i] | 0x20 : bytes[i]) != lower[i])
                return false;
        }

        return true;
    }
}
