-- FIM alerts. One row per folded alert (count, first/last seen): fold_key is the identity of an alert
-- (agent, path, action, executable, rule) plus its fold window, so folding is one upsert. Every alert id
-- an agent sent is kept in fim_alert_receipt, so a retried batch is recognised and not counted twice.

create table fim_alert (
    alert_id     text primary key,
    agent_id     text not null,
    hostname     text not null,
    fold_key     text not null,
    path         text not null,
    action       text not null,
    effect       text not null,
    rule_id      text not null,
    rule_version integer not null,
    rule_name    text not null,
    severity     text not null,
    details_json text not null,
    description  text not null,
    count        bigint not null,
    first_seen   text not null,
    last_seen    text not null,
    acknowledged_at text null,
    acknowledged_by text null
);
create unique index fim_alert_fold on fim_alert (fold_key);
create index fim_alert_agent on fim_alert (agent_id, alert_id);
create index fim_alert_rule on fim_alert (rule_id, alert_id);

create table fim_alert_receipt (
    agent_id  text not null,
    client_id text not null,
    primary key (agent_id, client_id)
) without rowid;
