-- Time-boxed unlocks of prevent rules (unlockFimRule): every window is kept, ended or not, so an alert that
-- arrives late (spooled through an outage) can still be told to have happened inside one.
create table fim_rule_unlock (
    unlock_id      text primary key,
    rule_id        text not null,
    unlocked_from  text not null,
    -- When the protection comes back: the requested end, or earlier when the window was ended or replaced.
    unlocked_until text not null,
    reason         text not null,
    unlocked_by    text null,
    ended_by       text null
);
create index fim_rule_unlock_rule on fim_rule_unlock (rule_id, unlocked_until);

-- sensor-silent incidents: when the agent last sent a heartbeat (null: never), and the open incidents the API
-- raised for it, so that each silence (or stop of its protection) raises one and the agent's return resolves it.
alter table agent add column heartbeat_at text null;
alter table agent add column silent_incident_id text null;
alter table agent add column stopped_incident_id text null;
-- What the stop incident is about (comma-separated: prevention, sensor): it resolves when all of it is back.
alter table agent add column stopped_what text null;
-- The silence scan reads the agents whose heartbeat is oldest and that have no silence incident yet.
create index agent_heartbeat on agent (heartbeat_at) where silent_incident_id is null;
