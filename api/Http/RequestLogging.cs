using System.Diagnostics;
using System.Security.Claims;

namespace Platform.Api.Http;

/// <summary>
/// What the API logs about requests: one structured line each (method, route template, status, duration, caller
/// token id) and nothing of what the client sent. The framework's own per-request lines are off: they carry the raw
/// URL (a token sent as <c>?access_token=</c>, values a client chose) and repeat what the request line says.
/// </summary>
public static class RequestLogging
{
    public const string Category = "Platform.Api.Http.RequestLog";

    public static ILoggingBuilder AddPlatformLogging(this ILoggingBuilder logging)
    {
        logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        logging.AddFilter("Microsoft.AspNetCore.Routing", LogLevel.Warning);
        logging.AddFilter("Microsoft.AspNetCore.Http.Result", LogLevel.Warning);
        logging.AddFilter("Microsoft.AspNetCore.Authentication", LogLevel.Warning);
        logging.AddFilter("Microsoft.AspNetCore.Authorization", LogLevel.Warning);
        logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel.BadRequests", LogLevel.Warning);
        return logging;
    }

    /// <summary>Outermost: sees the status the client got, after exception handling and problem pages.</summary>
    public static IApplicationBuilder UseRequestLog(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        return app.Use(async (http, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            // Routing ran before this middleware; the exception handler clears the endpoint when it re-executes.
            var route = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";
            try
            {
                await next(http);
            }
            finally
            {
                if (logger.IsEnabled(LogLevel.Information))
                {
                    logger.LogInformation("{Method} {Route} {Status} {DurationMs:0.0} ms {TokenId}",
                        http.Request.Method, route, http.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                        http.User.FindFirstValue(PlatformClaims.TokenId) ?? "-");
                }
            }
        });
    }

    /// <summary>Control characters as \uXXXX, so that text a client chose cannot start a log line of its own.</summary>
    public static string Escape(string text)
    {
        if (!text.Any(char.IsControl))
            return text;
        var escaped = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (char.IsControl(c))
                escaped.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            else
                escaped.Append(c);
        }

        return escaped.ToString();
    }
}
