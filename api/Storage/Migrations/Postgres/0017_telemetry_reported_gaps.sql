-- Coverage gaps the agents report (coverage_gap events: the sensor's buffer overflowed, the agent was down), kept
-- beside the flight data that carried them and written in the same transaction as their batch, so a replayed batch
-- adds none. One row a gap: `ordinal` is the event's place in its batch. Like the batch receipts (whose missing
-- sequence numbers are the other kind of gap) they are not rolled out with the segments.
create table telemetry_reported_gap (
    agent_id     text not null,
    sequence     bigint not null,
    ordinal      integer not null,
    event_id     text not null,
    container_id text not null,
    reason       text not null,
    from_time    timestamptz not null,
    until_time   timestamptz not null,
    lost_events  bigint null,
    primary key (agent_id, sequence, ordinal)
);
-- Bundles ask for the gaps that overlap a window.
create index telemetry_reported_gap_until on telemetry_reported_gap (agent_id, until_time);
