using System.Globalization;
using Platform.Contracts;

namespace Platform.Api.Forensics;

/// <summary>
/// How every bundle operation answers once it knows its plan: 304 when the client has it, the file (200, or 206 for a
/// range) when it is built or small enough to build now, else 202 while it is built in the background
/// (<see cref="BundleBuilds"/>), or 503 when that queue is full.
/// </summary>
public sealed class BundleDownloads(ForensicBundles bundles, BundleBuilds builds, ForensicsOptions options)
{
    /// <summary>Events a background build gets through per second here (bench suite=analyst), for Retry-After.</summary>
    private const double EventsPerSecond = 150_000;

    /// <param name="location">The request that asks for this same bundle again (its window made explicit).</param>
    public async Task<IResult> AnswerAsync(HttpContext http, BundlePlan plan, string? ifNoneMatch, string fileName, string location, CancellationToken cancellationToken)
    {
        var etag = new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{plan.Identity}\"");
        // Unchanged: say so without building (or even finding) the file. (Any other form of the tag, the file
        // result below still answers; it only costs the build.)
        if (Http.ETags.NoneMatch(ifNoneMatch, etag.Tag.Value!))
        {
            http.Response.Headers.ETag = etag.ToString();
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        var path = bundles.Built(plan);
        if (path is null && plan.Events <= options.InlineBuildEvents)
            path = await bundles.FileAsync(plan, cancellationToken);
        if (path is not null)
            return TypedResults.PhysicalFile(path, "application/zip", fileName, entityTag: etag, enableRangeProcessing: true);

        var state = builds.Enqueue(plan);
        if (state is null)
        {
            http.Response.Headers.RetryAfter = "30";
            return TypedResults.Problem(
                $"{options.QueuedBuilds} bundles are being built already; ask again after the Retry-After seconds.",
                statusCode: StatusCodes.Status503ServiceUnavailable, title: "Too many bundles are being built.", type: Http.Problems.TypeBase + "bundle-builds-busy");
        }

        var seconds = (int)Math.Clamp(Math.Ceiling(plan.Events / EventsPerSecond) * (state.Ahead + 1), 1, 60);
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        http.Response.Headers.Location = location;
        return TypedResults.Json(
            new BundleBuild
            {
                State = state.Building ? BundleBuildStateName.Building : BundleBuildStateName.Queued,
                Events = plan.Events,
                BuildsAhead = state.Ahead,
                Location = location,
            },
            statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>A host or container bundle's request with its window made explicit: new events after it do not change what it asks for.</summary>
    public static string Pinned(HttpContext http, BundleScope scope) =>
        Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(http.Request.Path.Value!, new Dictionary<string, string?>
        {
            ["from"] = scope.From.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
            ["until"] = scope.Until.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
        });
}
