-- A subscription chooses what its deliveries carry: the platform's WebhookEvent (what every existing subscription
-- has had, so the default marks them) or the incident as an OCSF Incident Finding.
alter table webhook add column payload_format text not null default 'platform';
