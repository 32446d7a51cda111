-- A container is one agent's: the same container id reported by two agents is two containers. Flight data of a
-- container is only ever read with its agent, so its indexes lead with the agent (as every key of flight data does,
-- for a store distributed by agent) and nothing reads by container id alone any more.
drop index telemetry_segment_container;
drop index telemetry_segment_container_first;
create index telemetry_segment_resource on telemetry_segment (agent_id, container_id, last_time);
create index telemetry_segment_resource_first on telemetry_segment (agent_id, container_id, first_time);
