namespace Platform.Api.Http;

/// <summary>Strong ETags from a resource's version number, and If-Match checks against them.</summary>
public static class ETags
{
    public static string For(int version) => $"\"{version}\"";

    /// <summary>A 200 with the resource and its version's ETag.</summary>
    public static Ok<T> Ok<T>(HttpContext http, int version, T resource)
    {
        http.Response.Headers.ETag = For(version);
        return TypedResults.Ok(resource);
    }

    /// <summary>True when <paramref name="ifNoneMatch"/> names <paramref name="etag"/> or is <c>*</c>: the client has it, answer 304.</summary>
    public static bool NoneMatch(string? ifNoneMatch, string etag) =>
        ifNoneMatch is not null && ifNoneMatch.Split(',', StringSplitOptions.TrimEntries).Any(tag => tag == etag || tag == "*");

    /// <summary>True when there is no If-Match, it is <c>*</c>, or it names the current version.</summary>
    public static bool Matches(string? ifMatch, int version)
    {
        if (string.IsNullOrWhiteSpace(ifMatch))
            return true;
        var current = For(version);
        return ifMatch.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Any(tag => tag == "*" || tag == current);
    }
}
