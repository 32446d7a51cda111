namespace Platform.Api.Forensics;

/// <summary>
/// How every bundle operation answers once it knows its plan: 304 when the client has it, the file (200, or 206 for a
/// range) when it is built or small enough to build now, else 202 while it is built in the background
/// (<see cref="BundleBuilds"/>), or 503 when that queue is full.
/// </summary>
public sealed class BundleDownloads(ForensicBundles bundles, BundleBuilds builds, ForensicsOptions options, Audit.AuditLog audit, Observability.ApiMetrics metrics)
{
    /// <summary>Events a background build gets through per second here (bench suite=analyst), for Retry-After.</summary>
    private const double EventsPerSecond = 150_000;

    /// <summary>An incident bundle's state (<c>final</c> or <c>provisional</c>) on every answer about it, for tools that poll.</summary>
    public const string StateHeader = "Bundle-State";

    /// <summary>What a download is audited against: <c>incident</c>, <c>agent</c> or <c>container</c> and its id.</summary>
    public sealed record Target(string Type, string Id);

    /// <param name="location">The request that asks for this same bundle again (its window made explicit).</param>
    public async Task<Results<PhysicalFileHttpResult, Accepted<BundleBuild>, Http.NotModified, ProblemHttpResult>> AnswerAsync(HttpContext http, BundlePlan plan, string? ifNoneMatch, string fileName, string location, Target target, CancellationToken cancellationToken)
    {
        if (plan.State is { } state)
            http.Response.Headers[StateHeader] = state;
        if (Unchanged(http, plan.Identity, ifNoneMatch) is { } notModified)
            return notModified;

        var built = await bundles.BuiltAsync(plan, cancellationToken);
        if (built is null && plan.Events <= options.InlineBuildEvents)
            built = await bundles.FileAsync(plan, cancellationToken);
        if (built is not null)
        {
            // A final bundle is kept as it is now: what is served for its incident from now on.
            if (plan.State == ForensicBundles.Final)
                return await ServeFinalAsync(http, await bundles.KeepFinalAsync(plan, built, cancellationToken), ifNoneMatch, fileName, target, cancellationToken);
            return await ServeAsync(http, plan.Identity, built, plan.State, fileName, target, cancellationToken);
        }

        var queued = builds.Enqueue(plan);
        if (queued is null)
        {
            http.Response.Headers.RetryAfter = "30";
            return TypedResults.Problem(
                $"{options.QueuedBuilds} bundles are being built already; ask again after the Retry-After seconds.",
                statusCode: StatusCodes.Status503ServiceUnavailable, title: "Too many bundles are being built.", type: Http.Problems.TypeBase + "bundle-builds-busy");
        }

        var seconds = (int)Math.Clamp(Math.Ceiling(plan.Events / EventsPerSecond) * (queued.Ahead + 1), 1, 60);
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return TypedResults.Accepted(
            location,
            new BundleBuild
            {
                State = queued.Building ? BundleBuildStateName.Building : BundleBuildStateName.Queued,
                Events = plan.Events,
                BuildsAhead = queued.Ahead,
                Location = location,
                BundleState = plan.State is null ? null : plan.State == ForensicBundles.Final ? BundleState.Final : BundleState.Provisional,
            });
    }

    /// <summary>An incident's kept final bundle: its bytes, whatever the data says now.</summary>
    public async Task<Results<PhysicalFileHttpResult, Accepted<BundleBuild>, Http.NotModified, ProblemHttpResult>> ServeFinalAsync(HttpContext http, FinalBundle final, string? ifNoneMatch, string fileName, Target target, CancellationToken cancellationToken)
    {
        http.Response.Headers[StateHeader] = ForensicBundles.Final;
        if (Unchanged(http, final.Identity, ifNoneMatch) is { } notModified)
            return notModified;
        return await ServeAsync(http, final.Identity, final.File, ForensicBundles.Final, fileName, target, cancellationToken);
    }

    private static Http.NotModified? Unchanged(HttpContext http, string identity, string? ifNoneMatch)
    {
        // Unchanged: say so without building (or even finding) the file. (Any other form of the tag, the file
        // result below still answers; it only costs the build.)
        if (!Http.ETags.NoneMatch(ifNoneMatch, $"\"{identity}\""))
            return null;
        http.Response.Headers.ETag = $"\"{identity}\"";
        return Http.NotModified.Instance;
    }

    /// <summary>
    /// The file (200, or 206 for a range), after its download is in the audit log with the bundle's SHA-256 (chain of
    /// custody); <c>Repr-Digest</c> (RFC 9530) carries the same SHA-256 of the whole zip, whatever range is asked for.
    /// </summary>
    private async Task<PhysicalFileHttpResult> ServeAsync(HttpContext http, string identity, BuiltBundle built, string? state, string fileName, Target target, CancellationToken cancellationToken)
    {
        var range = http.Request.Headers.Range.ToString();
        await audit.AppendReadAsync(http.Caller(), "bundle.download", target.Type, target.Id, new
        {
            sha256 = built.Sha256,
            bytes = built.Length,
            etag = identity,
            state,
            range = range.Length == 0 ? null : range[..Math.Min(range.Length, 100)],
        }, cancellationToken);
        http.Response.Headers["Repr-Digest"] = $"sha-256=:{Convert.ToBase64String(Convert.FromHexString(built.Sha256))}:";
        var etag = new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{identity}\"");
        metrics.BundleSending(http);
        return TypedResults.PhysicalFile(built.Path, "application/zip", fileName, entityTag: etag, enableRangeProcessing: true);
    }

    /// <summary>A host or container bundle's request with its window made explicit: new events after it do not change what it asks for.</summary>
    public static string Pinned(HttpContext http, BundleScope scope) =>
        Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(http.Request.Path.Value!, new Dictionary<string, string?>
        {
            ["from"] = scope.From.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
            ["until"] = scope.Until.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
        });
}
