using System.Net;

namespace Platform.Api.Webhooks;

/// <summary>Webhook delivery settings (section <c>Platform:Webhooks</c>).</summary>
public sealed class WebhookOptions
{
    public const string Section = "Platform:Webhooks";

    /// <summary>
    /// Internal networks receivers may be on after all (CIDRs, e.g. "10.20.0.0/16"). Empty: none; every
    /// loopback, private, link-local, shared and metadata address is refused.
    /// </summary>
    public string[] AllowedNetworks { get; set; } = [];

    /// <summary>How long one attempt may take (connect, send, answer).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts per delivery before it is given up (failed), backing off between them (<see cref="Backoff"/>).</summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>Failed attempts in a row, across deliveries, after which a subscription is disabled.</summary>
    public int DisableAfterFailures { get; set; } = 20;

    /// <summary>How often an instance looks for due deliveries when nothing wakes it.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long an instance holds the deliveries it took (another takes them after, if it crashed).</summary>
    public TimeSpan ClaimDuration { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The wait before attempt n+1 (n = attempts made): 10 s, 30 s, 1 min, 5 min, 15 min, 30 min, then hourly.</summary>
    public static TimeSpan Backoff(int attempts) => attempts switch
    {
        <= 1 => TimeSpan.FromSeconds(10),
        2 => TimeSpan.FromSeconds(30),
        3 => TimeSpan.FromMinutes(1),
        4 => TimeSpan.FromMinutes(5),
        5 => TimeSpan.FromMinutes(15),
        6 => TimeSpan.FromMinutes(30),
        _ => TimeSpan.FromHours(1),
    };

    public IReadOnlyList<IPNetwork> Allowed() => AllowedNetworks.Select(n => IPNetwork.TryParse(n, out var network)
        ? network : throw new InvalidOperationException($"{Section}:AllowedNetworks: '{n}' is not a CIDR (e.g. 10.20.0.0/16).")).ToList();

    /// <summary>Settings that cannot work, each named; refused when the API starts (see <see cref="Http.CheckedOptions"/>).</summary>
    public IEnumerable<string> Problems()
    {
        foreach (var network in AllowedNetworks.Where(n => !IPNetwork.TryParse(n, out _)))
            yield return $"{Section}:AllowedNetworks: '{network}' is not a CIDR (e.g. 10.20.0.0/16).";
        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromMinutes(1))
            yield return $"{Section}:Timeout must be between 0 and 1 minute.";
        if (MaxAttempts is < 1 or > 100 || DisableAfterFailures < 1 || PollInterval <= TimeSpan.Zero || ClaimDuration <= Timeout)
            yield return $"{Section}: MaxAttempts 1-100, DisableAfterFailures and PollInterval positive, ClaimDuration longer than Timeout.";
    }
}
