using System.Text.Json.Nodes;

namespace Platform.Api.Ocsf;

/// <summary>
/// The OCSF 1.7.0 objects the platform's events share (metadata, device, process, file, endpoints, ATT&amp;CK), and
/// the class header every event starts with. docs/ocsf.md maps each field; tests/Ocsf validates what comes out.
/// </summary>
public static class OcsfObjects
{
    public const string Version = "1.7.0";

    private static readonly string ProductVersion = typeof(OcsfObjects).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>The attributes that say which class, category and activity an event is (and their captions).</summary>
    public static JsonObject Header(OcsfClass type, int activityId, string activityName, DateTimeOffset time, int severityId)
    {
        return new JsonObject
        {
            ["class_uid"] = type.Uid,
            ["class_name"] = type.Name,
            ["category_uid"] = type.CategoryUid,
            ["category_name"] = type.CategoryName,
            ["activity_id"] = activityId,
            ["activity_name"] = activityName,
            ["type_uid"] = type.Uid * 100L + activityId,
            ["type_name"] = $"{type.Name}: {activityName}",
            ["time"] = Time(time),
            ["severity_id"] = severityId,
            ["severity"] = Severities[severityId],
        };
    }

    /// <summary>
    /// Who made the event: the platform, which record it is (<c>uid</c>: the platform's id, to look it up through the
    /// API), the log it comes from, and the OCSF profiles whose attributes it uses.
    /// </summary>
    public static JsonObject Metadata(string uid, string logName, params string[] profiles)
    {
        var metadata = new JsonObject
        {
            ["version"] = Version,
            ["product"] = new JsonObject { ["name"] = "Platform", ["vendor_name"] = "Platform", ["version"] = ProductVersion },
            ["uid"] = uid,
            ["log_name"] = logName,
        };
        if (profiles.Length > 0)
            metadata["profiles"] = new JsonArray([.. profiles.Select(p => (JsonNode)p)]);
        return metadata;
    }

    /// <summary>OCSF timestamps: milliseconds since the Unix epoch.</summary>
    public static long Time(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    private static readonly Dictionary<int, string> Severities = new() { [1] = "Informational", [2] = "Low", [3] = "Medium", [4] = "High", [5] = "Critical" };

    public static int Severity(string platformSeverity) => platformSeverity switch
    {
        "low" => 2,
        "medium" => 3,
        "high" => 4,
        "critical" => 5,
        _ => 1,
    };

    /// <summary>The host: the agent's id and the hostname it reported. Agents run on servers and cluster nodes.</summary>
    public static JsonObject Device(string agentId, string? hostname)
    {
        var device = new JsonObject { ["type_id"] = 1, ["type"] = "Server", ["uid"] = agentId };
        if (hostname is not null)
            device["hostname"] = hostname;
        return device;
    }

    public static JsonObject? Container(ContainerRef? container) => container is null ? null : Container(container.Id, container.Name);

    public static JsonObject Container(string id, string? name)
    {
        var container = new JsonObject { ["uid"] = id };
        if (name is not null)
            container["name"] = name;
        return container;
    }

    /// <summary>A process: pid, name, its executable as a file, its command line and user when known.</summary>
    public static JsonObject Process(int pid, string? name, string? executable = null, IEnumerable<string>? args = null, string? user = null, long? uid = null)
    {
        var process = new JsonObject { ["pid"] = pid };
        name ??= executable is null ? null : System.IO.Path.GetFileName(executable);
        if (name is not null)
            process["name"] = name;
        if (executable is not null)
            process["file"] = File(executable);
        if (args?.ToList() is { Count: > 0 } argv)
            process["cmd_line"] = string.Join(' ', argv);
        if (user is not null || uid is not null)
            process["user"] = User(user, uid);
        return process;
    }

    public static JsonObject User(string? name, long? uid)
    {
        var user = new JsonObject();
        if (name is not null)
            user["name"] = name;
        if (uid is not null)
            user["uid"] = uid.Value.ToString(CultureInfo.InvariantCulture);
        return user;
    }

    /// <summary>A file by its path (its name is the last part); a regular file unless said otherwise.</summary>
    public static JsonObject File(string path, string? sha256 = null, long? size = null)
    {
        var name = System.IO.Path.GetFileName(path.TrimEnd('/'));
        var file = new JsonObject { ["name"] = name.Length > 0 ? name : path, ["path"] = path, ["type_id"] = 1, ["type"] = "Regular File" };
        if (sha256 is not null)
            file["hashes"] = new JsonArray(new JsonObject { ["algorithm_id"] = 3, ["algorithm"] = "SHA-256", ["value"] = sha256 });
        if (size is not null)
            file["size"] = size.Value;
        return file;
    }

    public static JsonObject Endpoint(string? ip, int? port)
    {
        var endpoint = new JsonObject();
        if (ip is not null)
            endpoint["ip"] = ip;
        if (port is not null)
            endpoint["port"] = port.Value;
        return endpoint;
    }

    /// <summary>ATT&amp;CK techniques as OCSF attack objects: the technique (the parent, for a sub-technique), the sub-technique, the tactic.</summary>
    public static JsonArray Attacks(IEnumerable<string> techniqueIds)
    {
        var attacks = new JsonArray();
        foreach (var id in techniqueIds.Distinct(StringComparer.Ordinal))
        {
            var known = AttackTechniques.Find(id);
            var attack = new JsonObject();
            if (known?.ParentId is { } parentId)
            {
                attack["technique"] = Named(parentId, AttackTechniques.Find(parentId)?.Name);
                attack["sub_technique"] = Named(id, known.Name);
            }
            else
            {
                attack["technique"] = Named(id, known?.Name);
            }
            if (known is not null)
                attack["tactic"] = Named(known.TacticId, known.TacticName);
            attacks.Add(attack);
        }
        return attacks;
    }

    private static JsonObject Named(string uid, string? name)
    {
        var named = new JsonObject { ["uid"] = uid };
        if (name is not null)
            named["name"] = name;
        return named;
    }

    /// <summary>Sets the attribute only when there is a value (OCSF leaves out what is unknown, never null).</summary>
    public static JsonObject With(this JsonObject target, string name, JsonNode? value)
    {
        if (value is not null)
            target[name] = value;
        return target;
    }
}

/// <summary>An OCSF class the platform emits: its uid, caption and category.</summary>
public sealed record OcsfClass(int Uid, string Name, int CategoryUid, string CategoryName)
{
    public static readonly OcsfClass FileSystemActivity = new(1001, "File System Activity", 1, "System Activity");
    public static readonly OcsfClass ProcessActivity = new(1007, "Process Activity", 1, "System Activity");
    public static readonly OcsfClass DetectionFinding = new(2004, "Detection Finding", 2, "Findings");
    public static readonly OcsfClass IncidentFinding = new(2005, "Incident Finding", 2, "Findings");
    public static readonly OcsfClass NetworkActivity = new(4001, "Network Activity", 4, "Network Activity");
    public static readonly OcsfClass DnsActivity = new(4003, "DNS Activity", 4, "Network Activity");
    public static readonly OcsfClass BaseEvent = new(0, "Base Event", 0, "Uncategorized");
}
