-- Flight data. An agent pushes batches; each batch is split by resource (the host itself, container_id '',
-- or one of its containers) and each part stored as one segment: its events as compressed JSON Lines, their
-- timeline lines (compressed text) and their times, indexed by resource and time range. A flight recorder is
-- a log: one row a few hundred events, not one indexed row an event.

create table telemetry_batch (
    agent_id    text not null,
    sequence    bigint not null,
    batch_id    text not null,
    event_count integer not null,
    received_at text not null,
    first_time  text not null,
    last_time   text not null,
    primary key (agent_id, sequence)
) without rowid;
create unique index telemetry_batch_id on telemetry_batch (agent_id, batch_id);

create table telemetry_segment (
    segment_id    text primary key,
    agent_id      text not null,
    container_id  text not null,
    first_time    text not null,
    last_time     text not null,
    event_count   integer not null,
    kinds         integer not null,
    raw_bytes     bigint not null,
    stored_bytes  bigint not null,
    events        blob not null,
    timeline      blob not null,
    times         blob not null
);
-- Newest first (views, retention) by last event, oldest first (queries, bundles) by first event.
create index telemetry_segment_agent on telemetry_segment (agent_id, last_time);
create index telemetry_segment_container on telemetry_segment (container_id, last_time);
create index telemetry_segment_agent_first on telemetry_segment (agent_id, first_time);
create index telemetry_segment_container_first on telemetry_segment (container_id, first_time);

-- Data kept past the rolling caps: an incident's resource and window, until expires_at (null: no end yet).
create table telemetry_pin (
    pin_id       text primary key,
    agent_id     text not null,
    container_id text null,
    from_time    text not null,
    until_time   text not null,
    reason       text not null,
    expires_at   text null
);
create index telemetry_pin_agent on telemetry_pin (agent_id);

-- The containers and images an agent last reported (environment variable names only, never values).
create table agent_inventory (
    agent_id     text primary key,
    reported_at  text not null,
    inventory_json text not null
);
