using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Platform.Tests.Infrastructure;

/// <summary>
/// <see cref="SpecCheck"/> on the server's side, for the clients the tests do not hold: a real agent process (its
/// <c>simulate</c> included) speaks to the api on real Kestrel over a socket, not through a test client. Every
/// exchange with an operation of openapi.yaml is checked as <see cref="SpecCheck"/> checks it, and what breaks the
/// contract is kept in <see cref="Violations"/> for the test to assert on (<see cref="PlatformApi.AssertServedToTheSpec"/>):
/// the agent retries what fails, so failing the exchange would only hide it. On the in-memory TestServer the test
/// clients check every exchange themselves, and this stays out of the way.
/// </summary>
internal sealed class ServerSpecCheck(ConcurrentQueue<string> violations) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        if (app.ApplicationServices.GetRequiredService<IServer>() is not TestServer)
            app.Use(CheckAsync);
        next(app);
    };

    internal async Task CheckAsync(HttpContext http, Func<Task> next)
    {
        var method = new HttpMethod(http.Request.Method);
        if (SpecCheck.Find(method.Method, http.Request.Path.Value ?? "/") is not { } operation)
        {
            await next();
            return;
        }

        // Kept as the app reads it; read back only for an exchange the app accepted (a refusal's body is not checked,
        // and one over the server's limits must meet them in the app, as a client's would).
        http.Request.EnableBuffering();

        var client = http.Response.Body;
        using var responseBody = new MemoryStream();
        http.Response.Body = responseBody;
        try
        {
            await next();
        }
        finally
        {
            http.Response.Body = client;
        }

        if (http.RequestAborted.IsCancellationRequested)
            return; // the client went away (an agent stopped mid-request): no answer reached anyone

        var requestBody = new MemoryStream();
        if (http.Response.StatusCode is < 400 or >= 500)
        {
            http.Request.Body.Position = 0;
            await http.Request.Body.CopyToAsync(requestBody, http.RequestAborted);
        }

        using var request = new ByteArrayContent(requestBody.ToArray());
        Copy(http.Request.Headers, request.Headers);
        using var response = new HttpResponseMessage((System.Net.HttpStatusCode)http.Response.StatusCode) { Content = new ByteArrayContent(responseBody.ToArray()) };
        foreach (var (name, values) in http.Response.Headers)
        {
            if (!response.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
                response.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
        }

        var found = await SpecCheck.ViolationsAsync(operation, method, request, requestBody.Length > 0 ? requestBody.ToArray() : null, response, http.RequestAborted);
        if (found.Count > 0)
            violations.Enqueue(SpecCheck.Describe(operation, method, http.Request.Path + http.Request.QueryString, http.Response.StatusCode, found));
        responseBody.Position = 0;
        await responseBody.CopyToAsync(client, http.RequestAborted);
    }

    private static void Copy(IHeaderDictionary from, System.Net.Http.Headers.HttpContentHeaders to)
    {
        foreach (var (name, values) in from)
        {
            if (name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
                to.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
        }
    }
}
