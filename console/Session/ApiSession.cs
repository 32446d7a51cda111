using System.Net.Http.Headers;
using Microsoft.JSInterop;
using Platform.Contracts;

namespace Platform.WebConsole.Session;

/// <summary>
/// Who is signed in to this tab: the API token, the client that sends it, and what the token's role may call
/// (getCurrentToken), by which pages show or hide actions. The api checks every call whatever the console shows.
/// The secret is kept in this tab's memory and its sessionStorage (so that a reload does not sign out), never in a
/// URL, a cookie or localStorage; it is gone when the tab closes or on sign-out.
/// </summary>
public sealed class ApiSession(ApiSession.Origin origin, IJSRuntime js)
{
    public sealed record Origin(Uri Address);

    private const string StorageKey = "platform-console-token";

    public PlatformClient? Client { get; private set; }

    public CurrentToken? Caller { get; private set; }

    /// <summary>Raised on sign-in and sign-out, for the layout.</summary>
    public event Action? Changed;

    public bool SignedIn => Caller is not null;

    /// <summary>True when the caller's role may call the operation (an operationId of openapi.yaml).</summary>
    public bool May(string operationId) => Caller?.Operations.Contains(operationId) == true;

    /// <summary>The client of a signed-in page; pages are only shown signed in (MainLayout).</summary>
    public PlatformClient Api => Client ?? throw new InvalidOperationException("Not signed in.");

    /// <summary>A raw request with the token, for what the generated client does not hand over (response headers).</summary>
    public HttpClient Http => _http ?? throw new InvalidOperationException("Not signed in.");

    private HttpClient? _http;

    /// <summary>Signs in again from this tab's sessionStorage after a reload; false when there is nothing (or it no longer works).</summary>
    public async Task<bool> RestoreAsync()
    {
        if (SignedIn)
            return true;
        var stored = await js.InvokeAsync<string?>("sessionStorage.getItem", StorageKey);
        return stored is not null && await SignInAsync(stored) is null;
    }

    /// <summary>Signs in with the token; the API's problem when it refuses it.</summary>
    public async Task<ProblemDetails?> SignInAsync(string secret)
    {
        var http = new HttpClient(new RefusedToken(this) { InnerHandler = new HttpClientHandler() }) { BaseAddress = origin.Address };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret.Trim());
        var client = new PlatformClient(http);
        try
        {
            Caller = await client.GetCurrentTokenAsync();
        }
        catch (Exception e) when (Problems.Shown(e))
        {
            http.Dispose();
            await js.InvokeVoidAsync("sessionStorage.removeItem", StorageKey);
            return Problems.From(e);
        }

        SignedOutBecause = null;
        _http = http;
        Client = client;
        await js.InvokeVoidAsync("sessionStorage.setItem", StorageKey, secret.Trim());
        Changed?.Invoke();
        return null;
    }

    /// <summary>Why the tab was signed out without asking (the API refused the token), for the sign-in form.</summary>
    public ProblemDetails? SignedOutBecause { get; private set; }

    /// <summary>A 401 on a signed-in call: the token was revoked or expired meanwhile, so the tab signs out and says why.</summary>
    private sealed class RefusedToken(ApiSession session) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (response.StatusCode == System.Net.HttpStatusCode.Unauthorized && session.SignedIn)
            {
                session.SignedOutBecause = await Problems.FromResponseAsync(response);
                await session.SignOutAsync();
            }

            return response;
        }
    }

    public async Task SignOutAsync()
    {
        Caller = null;
        Client = null;
        _http = null;   // not disposed: a call of it may still be on its way back to a page (a refused token signs out mid-call)
        await js.InvokeVoidAsync("sessionStorage.removeItem", StorageKey);
        Changed?.Invoke();
    }
}
