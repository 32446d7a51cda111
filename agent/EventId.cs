namespace Platform.Agent;

/// <summary>Ids for what the agent records: time-ordered (UUIDv7), so the api's stores insert them in order.</summary>
public static class EventId
{
    public static string New() => Guid.CreateVersion7().ToString("N");
}
