namespace Platform.Api.Http;

/// <summary>
/// The latest time the API believes an agent may report. A time further ahead is a wrong clock or a forgery (an event
/// dated 2099 heads every "most recent" view; a baseline check dated next year keeps a PCI comparison passing), so
/// it is refused with a 400 naming the field rather than stored.
/// </summary>
public sealed class IngestClock(TimeProvider time, IngestOptions options)
{
    public DateTimeOffset Latest => time.GetUtcNow() + options.MaxClockSkew;

    public bool InTheFuture(DateTimeOffset reported) => reported > Latest;

    public string Refusal(string field) =>
        string.Create(CultureInfo.InvariantCulture, $"'{field}' is more than {options.MaxClockSkew.TotalMinutes:0.#} minutes ahead of the API's clock ({time.GetUtcNow():yyyy-MM-dd'T'HH:mm:ss'Z'}): check the agent's clock.");
}
