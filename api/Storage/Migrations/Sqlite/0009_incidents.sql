-- Incidents: what detection found, grouped per resource and category.

-- Which batch a segment came from (null for segments stored before detection), so detection reads a batch's events.
alter table telemetry_segment add column sequence bigint null;
create index telemetry_segment_batch on telemetry_segment (agent_id, sequence);

-- Detection work: each stored flight-data batch, queued in the transaction that stored it and deleted in the
-- transaction that stored what detection made of it. Nothing stored escapes detection, whatever stops when.
create table detection_queue (
    agent_id  text not null,
    sequence  bigint not null,
    primary key (agent_id, sequence)
) without rowid;

-- Which API instance runs detection for an agent: one at a time, so an agent's events are seen in order with
-- their context. A lease that is not renewed runs out and another instance takes over.
create table detection_lease (
    agent_id   text primary key,
    owner      text not null,
    expires_at text not null
);

create table incident (
    incident_id       text primary key,
    -- The order of changes (creation, new finding, status, assignment, note): one more for each, assigned and
    -- committed one at a time, so a poller's cursor on it never skips a change committed later.
    change_seq        bigint not null,
    category          text not null,
    severity          text not null,
    status            text not null,
    resolution        text null,
    resolution_reason text null,
    assignee          text null,
    agent_id          text not null,
    hostname          text not null,
    container_id      text not null,
    container_name    text null,
    image             text null,
    summary           text not null,
    techniques        text not null,
    finding_count     integer not null,
    first_seen        text not null,
    last_seen         text not null,
    created_at        text not null,
    updated_at        text not null,
    version           integer not null,
    pin_id            text null
);
create unique index incident_change on incident (change_seq);
create index incident_group on incident (agent_id, container_id, category, last_seen);
create index incident_status on incident (status, change_seq);
create index incident_category on incident (category, change_seq);
create index incident_agent on incident (agent_id, change_seq);
create index incident_updated on incident (updated_at);

-- One row per detection; the id is derived from what was detected, so the same events make the same finding once.
create table incident_finding (
    finding_id  text primary key,
    incident_id text not null,
    rule        text not null,
    time        text not null,
    summary     text not null,
    detail_json text not null
);
create index incident_finding_incident on incident_finding (incident_id, time, finding_id);

create table incident_note (
    note_id     text primary key,
    incident_id text not null,
    text        text not null,
    author      text null,
    created_at  text not null
);
create index incident_note_incident on incident_note (incident_id, note_id);
