-- Keys the API keeps for itself (the cursor signing key): shared by every instance on this database and kept
-- across restarts. Protect the database as the secrets it holds deserve.

create table server_secret (
    name  text primary key,
    value blob not null
);
