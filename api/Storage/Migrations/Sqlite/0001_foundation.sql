-- Foundation: API tokens, enrollment tokens, agents, audit log.
-- Times are fixed-width UTC text (see SqlMapping), so text order is time order.

create table api_token (
    token_id      text primary key,
    name          text not null,
    role          text not null,
    agent_id      text null,
    secret_hash   text not null unique,
    prefix        text not null,
    created_at    text not null,
    created_by    text null,
    expires_at    text null,
    revoked_at    text null,
    last_used_at  text null
);
create index api_token_agent on api_token (agent_id);

create table enrollment_token (
    enrollment_token_id text primary key,
    name                text not null,
    labels_json         text not null,
    max_uses            integer null,
    uses                integer not null default 0,
    secret_hash         text not null unique,
    prefix              text not null,
    created_at          text not null,
    created_by          text null,
    expires_at          text null,
    revoked_at          text null
);

create table agent (
    agent_id            text primary key,
    hostname            text not null,
    os                  text not null,
    agent_version       text not null,
    labels_json         text not null,
    enrolled_at         text not null,
    enrollment_token_id text null,
    last_seen_at        text null,
    version             integer not null
);
create index agent_hostname on agent (hostname);

create table audit_entry (
    audit_id       text primary key,
    time           text not null,
    actor_token_id text null,
    actor_role     text not null,
    action         text not null,
    target_type    text not null,
    target_id      text not null,
    before_json    text null,
    after_json     text null
);
create index audit_entry_target on audit_entry (target_type, target_id);
create index audit_entry_actor on audit_entry (actor_token_id);
create index audit_entry_time on audit_entry (time);
