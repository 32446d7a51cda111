using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace Platform.Tests.WebConsole;

/// <summary>
/// What went wrong in a page, as the browser saw it: Content-Security-Policy violations (the document's
/// <c>securitypolicyviolation</c> events), uncaught errors, console errors and warnings, requests that failed or were
/// answered 4xx/5xx. The console must produce none of these by itself: <see cref="AssertNone"/> fails a test on any of
/// them, and a test that provokes one on purpose says so first (<see cref="Expect"/>).
/// </summary>
public sealed class BrowserProblems
{
    /// <summary>The name the page calls back on a CSP violation (bound by CDP, so the page's own CSP does not stop it).</summary>
    private const string CspBinding = "__platformTestCspViolation";

    private readonly ConcurrentQueue<string> _problems = new();
    private readonly ConcurrentQueue<string> _csp = new();
    private readonly ConcurrentQueue<string> _messages = new();
    private readonly List<Func<string, bool>> _expected = [];
    private readonly List<(Func<string, bool> Matches, TaskCompletionSource Seen)> _waiters = [];

    /// <summary>Every problem so far (CSP violations included), in the order they came.</summary>
    public IReadOnlyList<string> All => [.. _problems];

    /// <summary>The CSP violations alone: directive, blocked resource, where.</summary>
    public IReadOnlyList<string> CspViolations => [.. _csp];

    /// <summary>Every console message, of any level (for the test's output when something fails).</summary>
    public IReadOnlyList<string> ConsoleMessages => [.. _messages];

    internal async Task WatchAsync(IBrowserContext context, IPage page)
    {
        await context.ExposeFunctionAsync(CspBinding, (string violation) =>
        {
            _csp.Enqueue(violation);
            Add("CSP violation: " + violation);
        });
        await context.AddInitScriptAsync($$"""
            document.addEventListener('securitypolicyviolation', e => window.{{CspBinding}}(JSON.stringify({
                directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile, line: e.lineNumber, sample: e.sample })));
            """);
        page.Console += (_, message) =>
        {
            _messages.Enqueue($"{message.Type}: {message.Text} ({message.Location})");
            if (message.Type is "error" or "warning")
                Add($"console {message.Type}: {message.Text} ({message.Location})");
        };
        page.PageError += (_, error) => Add("uncaught error: " + error);
        page.Crash += (_, _) => Add("the page crashed");
        page.RequestFailed += (_, request) => Add($"request failed: {request.Method} {request.Url}: {request.Failure}");
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
                Add($"HTTP {response.Status}: {response.Request.Method} {response.Url}");
        };
    }

    /// <summary>
    /// Says that problems containing <paramref name="text"/> are what the test is about (a 403 the page must show,
    /// say), so <see cref="AssertNone"/> passes over them. The browser also logs a console error for a 4xx/5xx
    /// response, with the URL: one expectation naming the URL covers both.
    /// </summary>
    public void Expect(string text)
    {
        lock (_expected)
            _expected.Add(problem => problem.Contains(text, StringComparison.Ordinal));
    }

    /// <summary>Fails with every problem that was not expected, and the console's messages for context.</summary>
    public void AssertNone()
    {
        List<string> unexpected;
        lock (_expected)
            unexpected = _problems.Where(p => !_expected.Any(expected => expected(p))).ToList();
        if (unexpected.Count > 0)
        {
            throw new Xunit.Sdk.XunitException(
                $"The browser saw {unexpected.Count} problem(s):\n  " + string.Join("\n  ", unexpected) +
                "\nConsole messages:\n  " + string.Join("\n  ", _messages));
        }
    }

    /// <summary>
    /// Waits until a problem containing <paramref name="text"/> has been seen (the browser reports some, CSP violations
    /// among them, a moment after what caused them), at most <see cref="ConsoleBrowser.Patience"/>.
    /// </summary>
    public async Task SeenAsync(string text)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            if (_problems.Any(p => p.Contains(text, StringComparison.Ordinal)))
                return;
            _waiters.Add((p => p.Contains(text, StringComparison.Ordinal), seen));
        }

        try
        {
            await seen.Task.WaitAsync(ConsoleBrowser.Patience);
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"The browser reported no problem containing '{text}'; it reported:\n  " + string.Join("\n  ", _problems));
        }
    }

    private void Add(string problem)
    {
        lock (_waiters)
        {
            _problems.Enqueue(problem);
            foreach (var waiter in _waiters.Where(w => w.Matches(problem)).ToList())
            {
                waiter.Seen.TrySetResult();
                _waiters.Remove(waiter);
            }
        }
    }
}
