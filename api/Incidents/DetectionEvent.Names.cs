namespace Platform.Api.Incidents;

public sealed partial class DetectionEvent
{
    /// <summary>
    /// Names read before (process names, executables, containers, images, users, working directories): one string
    /// for each, not one an event. Bounded: emptied when it grows past a few thousand names. One per detector, used
    /// by one pass at a time (it is not thread-safe).
    /// </summary>
    public sealed class Names
    {
        private const int Limit = 4096;
        private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);

        public string Of(ReadOnlySpan<byte> utf8)
        {
            if (utf8.Length > 256)
                return Encoding.UTF8.GetString(utf8);
            Span<char> chars = stackalloc char[256];
            if (!Encoding.UTF8.TryGetChars(utf8, chars, out var length))
                return Encoding.UTF8.GetString(utf8);
            var lookup = _names.GetAlternateLookup<ReadOnlySpan<char>>();
            if (lookup.TryGetValue(chars[..length], out var known))
                return known;
            if (_names.Count >= Limit)
                _names.Clear();
            var name = new string(chars[..length]);
            _names[name] = name;
            return name;
        }
    }
}
