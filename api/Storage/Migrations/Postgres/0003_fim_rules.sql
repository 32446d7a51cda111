-- FIM rules: the current version of each rule, every version ever (kept after deletion), and a
-- generation number that every rule change bumps (agents' policy caches compare it).

create table fim_rule (
    rule_id         text primary key,
    name            text not null unique,
    spec_json       text not null,
    compliance_tags text not null,
    version         integer not null,
    created_at      timestamptz not null,
    created_by      text null,
    updated_at      timestamptz not null,
    updated_by      text null
);

create table fim_rule_version (
    rule_id    text not null,
    version    integer not null,
    change     text not null,
    spec_json  text not null,
    changed_at timestamptz not null,
    changed_by text null,
    primary key (rule_id, version)
);

create table fim_policy_state (
    id         integer primary key check (id = 1),
    generation bigint not null
);
insert into fim_policy_state (id, generation) values (1, 0);
