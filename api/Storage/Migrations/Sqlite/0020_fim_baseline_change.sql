-- How a baseline check's difference was detected (FimBaselineChange): live (an alert raised as it happened),
-- comparison (the comparison raised the alert) or permitted-append, when (change_at) and which operation. Null for
-- checks without a change and for those of agents older than the field.
alter table fim_baseline_check add column change_seen text null;
alter table fim_baseline_check add column change_at text null;
alter table fim_baseline_check add column change_action text null;
