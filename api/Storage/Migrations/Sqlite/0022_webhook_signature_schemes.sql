-- Standard Webhooks 1.0 became the default signature scheme. Subscriptions that exist already keep the scheme
-- their receivers check (platform-v1): the default below marks every existing row; new rows name theirs.
alter table webhook add column signature_scheme text not null default 'platform-v1';

-- A rotated secret stays valid beside the new one until previous_secret_expires_at, then both columns are
-- cleared (the secret is not kept once it signs nothing).
alter table webhook add column previous_secret text null;
alter table webhook add column previous_secret_expires_at text null;
