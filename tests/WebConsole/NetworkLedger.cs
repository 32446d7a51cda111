using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;

namespace Platform.Tests.WebConsole;

/// <summary>One request a page made, as Chromium's network layer saw it.</summary>
/// <param name="EncodedBytes">Bytes on the wire (headers and the body as sent, compressed or not): CDP's encodedDataLength.</param>
/// <param name="DecodedBytes">The body after decompression (CDP's dataReceived lengths added up).</param>
public sealed record NetworkRequest(string Url, string Type, int Status, string? ContentEncoding, long EncodedBytes, long DecodedBytes, bool Failed);

/// <summary>
/// Every request a page makes, with its size on the wire, from the Chrome DevTools Protocol's Network domain
/// (<c>Network.loadingFinished</c> carries encodedDataLength: what a user's connection actually carries). Attached
/// before the first navigation, so a page's first load is counted whole.
/// </summary>
public sealed class NetworkLedger
{
    private sealed class Entry
    {
        public string Url = "";
        public string Type = "";
        public int Status;
        public string? ContentEncoding;
        public long Encoded;
        public long Decoded;
        public bool Done;
        public bool Failed;
    }

    private readonly ConcurrentDictionary<string, Entry> _entries = new();
    private readonly object _gate = new();
    private TaskCompletionSource _idle = NewIdle();

    internal async Task AttachAsync(IBrowserContext context, IPage page)
    {
        var cdp = await context.NewCDPSessionAsync(page);
        cdp.Event("Network.requestWillBeSent").OnEvent += (_, e) => Sent(e!.Value);
        cdp.Event("Network.responseReceived").OnEvent += (_, e) => Received(e!.Value);
        cdp.Event("Network.dataReceived").OnEvent += (_, e) => Of(e!.Value, entry => entry.Decoded += e.Value.GetProperty("dataLength").GetInt64());
        cdp.Event("Network.loadingFinished").OnEvent += (_, e) => Finished(e!.Value, failed: false);
        cdp.Event("Network.loadingFailed").OnEvent += (_, e) => Finished(e!.Value, failed: true);
        await cdp.SendAsync("Network.enable");
    }

    /// <summary>Every request so far that has finished (or failed), in no particular order.</summary>
    public IReadOnlyList<NetworkRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return _entries.Values.Where(e => e.Done)
                    .Select(e => new NetworkRequest(e.Url, e.Type, e.Status, e.ContentEncoding, e.Encoded, e.Decoded, e.Failed))
                    .ToList();
            }
        }
    }

    /// <summary>Waits until every request the page has started is finished (the browser's view; Playwright's NetworkIdle is the page's).</summary>
    public Task SettledAsync()
    {
        lock (_gate)
            return _entries.Values.All(e => e.Done) ? Task.CompletedTask : _idle.Task;
    }

    /// <summary>One line for a test's output: how many requests, how many bytes on the wire and decoded, and the largest.</summary>
    public string Summary()
    {
        var requests = Requests;
        var largest = requests.OrderByDescending(r => r.EncodedBytes).Take(5)
            .Select(r => $"{new Uri(r.Url).AbsolutePath} {Kb(r.EncodedBytes)} ({r.ContentEncoding ?? "identity"}, {Kb(r.DecodedBytes)} decoded)");
        return $"{requests.Count} requests, {Kb(requests.Sum(r => r.EncodedBytes))} on the wire, {Kb(requests.Sum(r => r.DecodedBytes))} decoded; largest: {string.Join("; ", largest)}";
    }

    private static string Kb(long bytes) => (bytes / 1024.0).ToString("N1", CultureInfo.InvariantCulture) + " KiB";

    private void Sent(JsonElement e)
    {
        lock (_gate)
        {
            // A redirect is a second requestWillBeSent with the same id: the entry follows it to where it ends.
            var entry = _entries.GetOrAdd(e.GetProperty("requestId").GetString()!, _ => new Entry());
            entry.Url = e.GetProperty("request").GetProperty("url").GetString()!;
            entry.Type = e.TryGetProperty("type", out var type) ? type.GetString()! : "";
            entry.Done = false;
            if (_idle.Task.IsCompleted)
                _idle = NewIdle();
        }
    }

    private void Received(JsonElement e) => Of(e, entry =>
    {
        var response = e.GetProperty("response");
        entry.Status = response.GetProperty("status").GetInt32();
        entry.Type = e.GetProperty("type").GetString()!;
        foreach (var header in response.GetProperty("headers").EnumerateObject())
        {
            if (header.Name.Equals("content-encoding", StringComparison.OrdinalIgnoreCase))
                entry.ContentEncoding = header.Value.GetString();
        }
    });

    private void Finished(JsonElement e, bool failed) => Of(e, entry =>
    {
        if (e.TryGetProperty("encodedDataLength", out var encoded))
            entry.Encoded = (long)encoded.GetDouble();
        (entry.Done, entry.Failed) = (true, failed);
        if (_entries.Values.All(other => other.Done))
            _idle.TrySetResult();
    });

    private void Of(JsonElement e, Action<Entry> change)
    {
        lock (_gate)
        {
            // Events of requests this session did not see start (none, once attached before navigation) are not counted.
            if (_entries.TryGetValue(e.GetProperty("requestId").GetString()!, out var entry))
                change(entry);
        }
    }

    private static TaskCompletionSource NewIdle() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
