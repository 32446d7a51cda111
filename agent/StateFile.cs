using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Platform.Agent;

/// <summary>
/// A JSON file in the agent's state directory that must outlive the agent (its credential, the spool's cursor, the
/// enforcement ledger, the FIM baseline). Written whole or not at all: a temporary file created with mode 0600 (what
/// these files hold is the agent's secret or tells an attacker what is protected), flushed to disk, then renamed
/// over the old one, so a crash or a SIGKILL leaves either the old file or the new, never half of one.
/// </summary>
public static class StateFile
{
    public static void Write<T>(string path, T value, JsonTypeInfo<T> type)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + ".tmp";
        var ownerOnly = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            ownerOnly.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        File.Delete(temporary); // the mode applies to a file created, not to one reused
        using (var file = new FileStream(temporary, ownerOnly))
        {
            JsonSerializer.Serialize(file, value, type);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>
    /// The file's value, or the default when there is none. A file that is not valid JSON is moved aside (to
    /// <c>&lt;path&gt;.bad-&lt;unix seconds&gt;</c>, never overwritten by the next write, so what it held can still be
    /// read by hand) and <paramref name="setAside"/> is told where; the default is returned.
    /// </summary>
    public static T? Read<T>(string path, JsonTypeInfo<T> type, Action<string> setAside)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllBytes(path), type) : default;
        }
        catch (JsonException)
        {
            var aside = path + ".bad-" + DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            File.Move(path, aside, overwrite: true);
            setAside(aside);
            return default;
        }
    }
}
