-- Webhook subscriptions and their outbox: a delivery row is written in the transaction that changed the incident,
-- so an event is sent if and only if the change was committed, once, whichever API instance sends it.

create table webhook (
    webhook_id           text primary key,
    url                  text not null,
    events               text not null,
    description          text null,
    -- The HMAC key: needed in clear to sign. Protect the database as the secrets it holds deserve.
    secret               text not null,
    enabled              integer not null,
    disabled_reason      text null,
    consecutive_failures integer not null,
    created_at           timestamptz not null,
    updated_at           timestamptz not null,
    version              integer not null
);

create table webhook_delivery (
    delivery_id     text primary key,
    webhook_id      text not null,
    event_id        text not null,
    event_type      text not null,
    incident_id     text not null,
    payload         text not null,
    status          text not null,
    attempts        integer not null,
    next_attempt_at timestamptz null,
    last_attempt_at timestamptz null,
    last_status_code integer null,
    last_error      text null,
    created_at      timestamptz not null,
    delivered_at    timestamptz null,
    redelivery_of   text null,
    -- An instance sending it holds it until then (a crashed sender's claim runs out).
    claimed_until   timestamptz null
);
create index webhook_delivery_due on webhook_delivery (status, next_attempt_at);
create index webhook_delivery_log on webhook_delivery (webhook_id, delivery_id);
