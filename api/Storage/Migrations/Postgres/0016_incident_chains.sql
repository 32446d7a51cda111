-- Incidents follow the chain of events their findings belong to (issue 19, item 9).

-- The pids of the processes (not inits or supervisors) in the lineages of an incident's findings, sorted and
-- comma-separated: a finding joins an incident of its category sharing one, and incidents of other categories
-- sharing one are related.
alter table incident add column processes text not null default '';
-- The ids of the incidents of the same chain (comma-separated, oldest first).
alter table incident add column related text not null default '';
-- Its status changes with reasons and the resolution a reopen undid (JSON array, newest 100).
alter table incident add column history_json text not null default '[]';
