-- What the agent said of itself in its last heartbeat (AgentStatus as JSON), and when.
alter table agent add column status_json text null;
alter table agent add column status_reported_at timestamptz null;
