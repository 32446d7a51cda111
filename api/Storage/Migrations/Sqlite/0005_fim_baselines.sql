-- The latest baseline comparison an agent reported for each rule and path (PCI DSS 11.5 evidence).

create table fim_baseline_check (
    agent_id   text not null,
    rule_id    text not null,
    path       text not null,
    checked_at text not null,
    result     text not null,
    primary key (agent_id, rule_id, path)
);
