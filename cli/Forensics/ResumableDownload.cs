using Platform.Cli.Agents;
using Spectre.Console;

namespace Platform.Cli.Forensics;

/// <summary>
/// A download into <c>OUT.part</c> that survives a dropped connection: the ETag of what is being downloaded is kept
/// beside it (<c>OUT.part.etag</c>), and the rest is asked for with <c>Range</c> and <c>If-Range</c>, so a bundle
/// that changed meanwhile comes whole (200) rather than spliced onto the old part.
/// </summary>
public sealed class ResumableDownload(string target, CliHost host, int retries)
{
    public string PartPath { get; } = target + ".part";

    private string EtagPath => PartPath + ".etag";

    /// <summary>How long to keep asking while the api builds a bundle in the background (202).</summary>
    public static readonly TimeSpan MaxBuildWait = TimeSpan.FromHours(1);

    /// <param name="pin">Told the <c>Location</c> of a bundle the api is building (202), which the next fetches must ask for.</param>
    public async Task RunAsync(Func<string?, string?, Task<FileResponse>> fetch, CancellationToken cancellationToken, Action<string>? pin = null)
    {
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        for (var attempt = 0; ; attempt++)
        {
            var offset = File.Exists(PartPath) && File.Exists(EtagPath) ? new FileInfo(PartPath).Length : 0;
            var etag = offset > 0 ? (await File.ReadAllTextAsync(EtagPath, cancellationToken)).Trim() : null;
            if (offset == 0)
                Discard();
            else
                await host.Error.WriteLineAsync($"resuming {Path.GetFileName(target)} from byte {offset}");
            try
            {
                await FetchAsync(fetch, offset, etag, cancellationToken);
                return;
            }
            catch (PlatformApiException<BundleBuild> ex) when (ex.StatusCode == 202 && waiting.Elapsed < MaxBuildWait)
            {
                // Being built: ask again when the api says, for the window it pinned. Not a retry of a failure.
                pin?.Invoke(ex.Result.Location);
                var seconds = Header(ex.Headers, "Retry-After") is { } text && int.TryParse(text, out var s) ? Math.Clamp(s, 1, 60) : 5;
                await host.Error.WriteLineAsync($"the api is building this bundle ({ex.Result.Events} events, {ex.Result.State.ToString().ToLowerInvariant()}, {ex.Result.BuildsAhead} builds ahead); asking again in {seconds} s");
                await Task.Delay(TimeSpan.FromSeconds(seconds), cancellationToken);
                attempt--;
            }
            catch (PlatformApiException ex) when (ex.StatusCode == 416)
            {
                // The part is no prefix of the bundle (longer than it): start again.
                Discard();
                if (attempt >= retries)
                    throw;
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                var have = File.Exists(PartPath) ? new FileInfo(PartPath).Length : 0;
                if (attempt >= retries)
                    throw new CliException($"the download stopped at byte {have} ({ex.Message}); run the same command again to resume.");
                await host.Error.WriteLineAsync($"the connection dropped at byte {have} ({ex.Message}); resuming ({attempt + 1} of {retries})");
            }
        }
    }

    private async Task FetchAsync(Func<string?, string?, Task<FileResponse>> fetch, long offset, string? etag, CancellationToken cancellationToken)
    {
        using var response = await fetch(offset > 0 ? $"bytes={offset}-" : null, etag);
        if (offset > 0 && response.StatusCode == 200)
        {
            await host.Error.WriteLineAsync("the bundle changed since the first part was downloaded; downloading it whole");
            offset = 0;
        }

        var newEtag = Header(response, "ETag");
        if (newEtag is not null)
            await File.WriteAllTextAsync(EtagPath, newEtag, cancellationToken);
        else
            File.Delete(EtagPath); // without an ETag, a part cannot be resumed safely
        var total = response.StatusCode == 206
            ? Header(response, "Content-Range") is { } range && long.TryParse(range[(range.LastIndexOf('/') + 1)..], out var whole) ? whole : (long?)null
            : long.TryParse(Header(response, "Content-Length"), out var length) ? length : null;

        await using var file = new FileStream(PartPath, offset > 0 ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        if (host.Interactive)
        {
            await Output.CreateConsole(host.Error, interactive: true).Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .StartAsync(async progress =>
                {
                    var task = progress.AddTask(Path.GetFileName(target), maxValue: total ?? 0);
                    task.IsIndeterminate = total is null;
                    task.Value = offset;
                    await CopyAsync(response.Stream, file, read => task.Increment(read), cancellationToken);
                });
        }
        else
        {
            await host.Error.WriteLineAsync($"downloading {Path.GetFileName(target)}" + (total is { } size ? $" ({size} bytes)" : ""));
            await CopyAsync(response.Stream, file, _ => { }, cancellationToken);
        }
    }

    private static async Task CopyAsync(Stream from, FileStream to, Action<int> progress, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        int read;
        while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            progress(read);
        }

        await to.FlushAsync(cancellationToken);
    }

    private static string? Header(FileResponse response, string name) => Header(response.Headers, name);

    private static string? Header(IReadOnlyDictionary<string, IEnumerable<string>> headers, string name) =>
        headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();

    /// <summary>The verified part becomes the file.</summary>
    public void Complete()
    {
        File.Move(PartPath, target, overwrite: true);
        File.Delete(EtagPath);
    }

    public void Discard()
    {
        File.Delete(PartPath);
        File.Delete(EtagPath);
    }
}
