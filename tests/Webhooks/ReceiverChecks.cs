using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Platform.Tests.Infrastructure;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;

namespace Platform.Tests.Webhooks;

/// <summary>
/// What a receiver runs on a delivery it got, with the two reference implementations of Standard Webhooks (not the
/// platform's code): the StandardWebhooks NuGet package in process, and the standardwebhooks npm package under node.
/// </summary>
public static class ReceiverChecks
{
    /// <summary>
    /// Why the .NET library refuses the delivery, or null when it verifies it (with its own clock). StandardWebhooks
    /// 1.1.2 matches only the first of several signatures (for the last one it compares the whole header), so a
    /// rotation's second signature is checked on its own, as docs/soar.md tells receivers using it to do;
    /// <paramref name="wholeHeader"/> shows what the package does with the header as it came.
    /// </summary>
    public static string? DotnetRefusal(WebhookReceiver.Received delivery, string secret, bool wholeHeader = false)
    {
        var signatures = delivery.Headers["webhook-signature"].Split(' ');
        var refusal = "no signature";
        foreach (var signature in wholeHeader ? [delivery.Headers["webhook-signature"]] : signatures)
        {
            var headers = new HeaderDictionary();
            foreach (var (name, value) in delivery.Headers)
                headers[name] = value;
            headers["webhook-signature"] = signature;
            try
            {
                new StandardWebhook(secret).Verify(Encoding.UTF8.GetString(delivery.Body), headers);
                return null;
            }
            catch (WebhookVerificationException e)
            {
                refusal = e.Message;
            }
        }

        return refusal;
    }

    /// <summary>
    /// Why the npm library refuses the delivery, or null when it verifies it; <paramref name="receiverClock"/> stands
    /// for the receiver's clock (its own when null). A failure of the check itself (no node, no package) fails the test.
    /// </summary>
    public static async Task<string?> NodeRefusalAsync(WebhookReceiver.Received delivery, string secret, DateTimeOffset? receiverClock = null)
    {
        var dir = Directory.CreateTempSubdirectory("webhook-delivery-");
        try
        {
            await File.WriteAllBytesAsync(Path.Combine(dir.FullName, "body"), delivery.Body);
            await File.WriteAllTextAsync(Path.Combine(dir.FullName, "headers.json"), JsonSerializer.Serialize(delivery.Headers));
            await File.WriteAllTextAsync(Path.Combine(dir.FullName, "secret"), secret);
            var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(Path.Combine(Repository.Root, "tests", "Webhooks", "verify-standard-webhook.js"));
            start.ArgumentList.Add(dir.FullName);
            if (receiverClock is { } clock)
                start.ArgumentList.Add(clock.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
            using var node = Process.Start(start)!;
            var output = node.StandardOutput.ReadToEndAsync();
            var error = node.StandardError.ReadToEndAsync();
            await node.WaitForExitAsync();
            return node.ExitCode switch
            {
                0 => null,
                3 => (await output).Trim(),
                _ => throw new InvalidOperationException($"node exited with {node.ExitCode}: {await error}{await output}"),
            };
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The delivery with one header replaced, as someone between the platform and the receiver could send it.</summary>
    public static WebhookReceiver.Received WithHeader(this WebhookReceiver.Received delivery, string name, string value) =>
        delivery with { Headers = new Dictionary<string, string>(delivery.Headers, StringComparer.OrdinalIgnoreCase) { [name] = value } };

    /// <summary>The delivery with one byte of its body changed.</summary>
    public static WebhookReceiver.Received Tampered(this WebhookReceiver.Received delivery)
    {
        var body = delivery.Body.ToArray();
        body[^2] ^= 1;
        return delivery with { Body = body };
    }
}
