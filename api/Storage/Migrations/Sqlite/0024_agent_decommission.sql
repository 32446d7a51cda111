-- decommissionAgent: when an agent was retired and by which token (null while it is active). Its rows of evidence
-- stay (retention removes them as any agent's); its credentials are revoked in the same write.
alter table agent add column decommissioned_at text null;
alter table agent add column decommissioned_by text null;
-- The silence scan leaves decommissioned agents out: so does its index, or every scan would walk past each of them.
drop index agent_heartbeat;
create index agent_heartbeat on agent (heartbeat_at) where silent_incident_id is null and decommissioned_at is null;
