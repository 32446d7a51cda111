using System.Text.Json.Nodes;
using static Platform.Api.Ocsf.OcsfObjects;

namespace Platform.Api.Ocsf;

/// <summary>
/// Flight data and FIM alerts as OCSF activity: a process start or exit is Process Activity (1007), a file access File
/// System Activity (1001), a connection or a listening socket Network Activity (4001), a name lookup DNS Activity
/// (4003). A coverage gap (the sensor lost events) is a Base Event (0) that says so: dropping it would hide the gap.
/// A FIM alert is File System Activity too, with its rule, effect (<c>disposition</c>: prevented is Blocked) and count.
/// </summary>
public static class OcsfFlightData
{
    public static string Kind(TelemetryEvent evt) => evt switch
    {
        ProcessStartEvent => "process_start",
        ProcessExitEvent => "process_exit",
        FileAccessEvent => "file_access",
        NetworkConnectEvent => "network_connect",
        NetworkListenEvent => "network_listen",
        DnsQueryEvent => "dns_query",
        _ => "coverage_gap",
    };

    public static JsonObject Event(string agentId, TelemetryEvent evt)
    {
        var profiles = evt.Container is null ? new[] { "host" } : ["host", "container"];
        JsonObject json;
        switch (evt)
        {
            case ProcessStartEvent start:
            {
                json = Header(OcsfClass.ProcessActivity, 1, "Launch", evt.Time, 1);
                var process = Process(start.Pid, start.ProcessName, start.Executable, start.Args, start.User, start.Uid).With("container", Container(evt.Container));
                process.With("working_directory", start.Cwd);
                if (start.Ppid is { } ppid)
                    process["parent_process"] = Process(ppid, start.ParentProcessName);
                json["process"] = process;
                json["actor"] = new JsonObject { ["process"] = start.Ppid is { } parent ? Process(parent, start.ParentProcessName) : process.DeepClone() };
                break;
            }
            case ProcessExitEvent exit:
            {
                json = Header(OcsfClass.ProcessActivity, 2, "Terminate", evt.Time, 1);
                var process = Process(exit.Pid, exit.ProcessName).With("container", Container(evt.Container));
                json["process"] = process;
                json["actor"] = new JsonObject { ["process"] = process.DeepClone() };
                json.With("exit_code", exit.ExitCode);
                break;
            }
            case FileAccessEvent file:
            {
                var (id, name) = FileActivity(SpecEnum.ToSpec(file.Operation));
                json = Header(OcsfClass.FileSystemActivity, id, name, evt.Time, 1);
                json["actor"] = Actor(file.Pid, evt);
                json["file"] = File(file.Path);
                json.With("file_result", file.NewPath is { } renamed ? File(renamed) : null);
                break;
            }
            case NetworkConnectEvent connect:
            {
                var (id, name) = connect.Result switch
                {
                    null or ConnectResult.Connected or ConnectResult.InProgress => (1, "Open"),
                    ConnectResult.Refused => (5, "Refuse"),
                    _ => (4, "Fail"),
                };
                json = Header(OcsfClass.NetworkActivity, id, name, evt.Time, 1);
                json["actor"] = Actor(connect.Pid, evt);
                var (local, remote) = (Endpoint(connect.LocalAddress, connect.LocalPort), Endpoint(connect.RemoteAddress, connect.RemotePort));
                var inbound = connect.Direction == NetworkDirection.Inbound;
                json["src_endpoint"] = inbound ? remote : local;
                json["dst_endpoint"] = inbound ? local : remote;
                json["connection_info"] = Connection(connect.Protocol, inbound ? (1, "Inbound") : (2, "Outbound"));
                json.With("status_detail", connect.Result is { } result ? SpecEnum.ToSpec(result) : null);
                break;
            }
            case NetworkListenEvent listen:
                json = Header(OcsfClass.NetworkActivity, 7, "Listen", evt.Time, 1);
                json["actor"] = Actor(listen.Pid, evt);
                json["src_endpoint"] = Endpoint(listen.LocalAddress ?? "0.0.0.0", listen.LocalPort);
                json["connection_info"] = Connection(listen.Protocol, (1, "Inbound"));
                break;
            case DnsQueryEvent dns:
                json = Header(OcsfClass.DnsActivity, 1, "Query", evt.Time, 1);
                json["actor"] = Actor(dns.Pid, evt);
                json["query"] = new JsonObject { ["hostname"] = dns.Name };
                // The resolver asked is not recorded; the query left this host.
                json["src_endpoint"] = evt.Hostname is { } host ? new JsonObject { ["hostname"] = host } : new JsonObject { ["uid"] = agentId };
                if (dns.Answers is { Count: > 0 } answers)
                    json["answers"] = new JsonArray([.. answers.Select(a => (JsonNode)new JsonObject { ["rdata"] = a })]);
                break;
            case CoverageGapEvent gap:
                json = Header(OcsfClass.BaseEvent, 99, "Other", evt.Time, 3);
                json["message"] = $"The sensor lost events ({SpecEnum.ToSpec(gap.Reason)}) until {gap.Until:O}"
                    + (gap.LostEvents is { } lost ? $": {lost} lost." : ".");
                json["end_time"] = Time(gap.Until);
                json.With("count", gap.LostEvents);
                profiles = ["host"];
                break;
            default:
                throw new ArgumentException($"No OCSF mapping for {evt.GetType().Name}.", nameof(evt));
        }

        json["metadata"] = Metadata(evt.Id, "flight-data", profiles);
        json["device"] = Device(agentId, evt.Hostname);
        json["unmapped"] = new JsonObject { ["kind"] = Kind(evt) }
            .With("redacted", evt.Redacted is { Count: > 0 } redacted ? new JsonArray([.. redacted.Select(r => (JsonNode)r)]) : null);
        return json;
    }

    public static JsonObject FimAlert(FimAlert alert)
    {
        var (id, name) = FileActivity(SpecEnum.ToSpec(alert.Action));
        var json = Header(OcsfClass.FileSystemActivity, id, name, alert.LastSeen, Severity(SpecEnum.ToSpec(alert.Severity)));
        json["metadata"] = Metadata(alert.Id, "fim-alerts", alert.Container is null ? ["host", "security_control"] : ["host", "security_control", "container"]);
        json["device"] = Device(alert.AgentId, alert.Hostname);
        json["actor"] = alert.Process is { } process
            ? new JsonObject { ["process"] = Process(process.Pid, process.Name, process.Executable, process.CommandLine is { } line ? [line] : null, process.User, process.Uid).With("container", Container(alert.Container)) }
            : new JsonObject { ["app_name"] = "unknown (attribution unavailable)" };
        json["file"] = File(alert.Path, alert.After?.Sha256, alert.After?.Size);
        json["message"] = alert.Description;
        json["count"] = alert.Count;
        json["start_time"] = Time(alert.FirstSeen);
        json["end_time"] = Time(alert.LastSeen);
        var prevented = alert.Effect == FimAlertEffect.Prevented;
        // The operation was refused by the kernel (prevent) or went through (alert): status, action and disposition say which.
        json["status_id"] = prevented ? 2 : 1;
        json["status"] = prevented ? "Failure" : "Success";
        json["action_id"] = prevented ? 2 : 1;
        json["action"] = prevented ? "Denied" : "Allowed";
        json["disposition_id"] = prevented ? 2 : 15;
        json["disposition"] = prevented ? "Blocked" : "Detected";
        json["is_alert"] = true;
        json["policy"] = new JsonObject { ["uid"] = alert.RuleId, ["name"] = alert.RuleName, ["version"] = alert.RuleVersion.ToString(CultureInfo.InvariantCulture) };
        json["unmapped"] = new JsonObject
        {
            ["effect"] = SpecEnum.ToSpec(alert.Effect),
            ["attribution"] = SpecEnum.ToSpec(alert.Attribution),
        }.With("attribution_reason", alert.AttributionReason).With("effect_reason", alert.EffectReason)
            .With("before", alert.Before is { } before ? FileState(before) : null)
            .With("acknowledged_at", alert.AcknowledgedAt?.ToString("O", CultureInfo.InvariantCulture))
            .With("acknowledged_by", alert.AcknowledgedBy);
        return json;
    }

    private static JsonObject FileState(FimFileState state) =>
        new JsonObject().With("sha256", state.Sha256).With("size", state.Size).With("mode", state.Mode);

    private static (int Id, string Name) FileActivity(string operation) => operation switch
    {
        "create" => (1, "Create"),
        "read" => (2, "Read"),
        "write" => (3, "Update"),
        "delete" => (4, "Delete"),
        "rename" => (5, "Rename"),
        _ => (6, "Set Attributes"),
    };

    private static JsonObject Actor(int? pid, TelemetryEvent evt) => pid is { } known
        ? new JsonObject { ["process"] = Process(known, evt.ProcessName).With("container", Container(evt.Container)) }
        : new JsonObject { ["app_name"] = evt.ProcessName ?? "unknown (no process attributed)" };

    private static JsonObject Connection(NetworkProtocol protocol, (int Id, string Name) direction) => new()
    {
        ["protocol_name"] = SpecEnum.ToSpec(protocol),
        ["protocol_num"] = protocol == NetworkProtocol.Tcp ? 6 : 17,
        ["direction_id"] = direction.Id,
        ["direction"] = direction.Name,
    };
}
