-- The orders of listIncidents and listAgents (IncidentSort, AgentSort), each paged by a keyset cursor that ends
-- in the id, so that a page is an index range read, not a sort of the whole table.

-- Severity as a number to order by: the order of IncidentSeverity in openapi.yaml (low 0 .. critical 3).
-- Virtual: computed from severity when read, so no writer has to keep it.
alter table incident add column severity_rank integer generated always as
    (case severity when 'critical' then 3 when 'high' then 2 when 'medium' then 1 else 0 end) virtual;
-- sort=-lastSeen and lastSeen (one index, read either way).
create index incident_last_seen on incident (last_seen, incident_id);
-- sort=-severity: most severe first, then newest lastSeen (read backwards).
create index incident_severity_order on incident (severity_rank, last_seen, incident_id);
-- The same orders within one status (a queue's tab: open, acknowledged, ...): without statistics SQLite would rather
-- take the incidents of that status from incident_status and sort them all.
create index incident_status_last_seen on incident (status, last_seen, incident_id);
create index incident_status_severity_order on incident (status, severity_rank, last_seen, incident_id);

-- sort=lastHeartbeat: never heard from (null) first, then the oldest heartbeat.
create index agent_heartbeat_order on agent (heartbeat_at, agent_id);
