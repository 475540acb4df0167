-- Wijkradar accounts database (beside the dataset: `NAME.accounts.duckdb`): users, their roles
-- per gemeente, personal access tokens and the audit log. No password, token or cookie is
-- stored: passwords as Argon2id hashes, tokens as SHA-256 hashes.

-- Bumped by every change of users, grants or tokens; the server reloads its directory when it
-- changes (a user disabled on the command line is signed out within a second).
CREATE TABLE IF NOT EXISTS account_generation (generation BIGINT NOT NULL);

CREATE TABLE IF NOT EXISTS account_user (
    id            INTEGER PRIMARY KEY,
    name          VARCHAR NOT NULL UNIQUE,
    password_hash VARCHAR,              -- Argon2id PHC string; NULL for single-sign-on users
    disabled      BOOLEAN NOT NULL,
    epoch         INTEGER NOT NULL,     -- bumped on disable, password change and revocation: ends sessions
    created_at    VARCHAR NOT NULL
);

-- A single-sign-on user: the provider's issuer and subject (its stable id of the person), so
-- that a later sign-in finds the same account even when the name changes, and a provider's
-- user never takes over a local account of the same name.
CREATE TABLE IF NOT EXISTS account_sso (
    issuer   VARCHAR NOT NULL,
    subject  VARCHAR NOT NULL,
    user_id  INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
);

-- A role in a gemeente (`adviseur`, `wethouder`, `riec-analist`, `beheerder`).
CREATE TABLE IF NOT EXISTS account_grant (
    user_id  INTEGER NOT NULL,
    role     VARCHAR NOT NULL,
    gemeente VARCHAR NOT NULL,
    PRIMARY KEY (user_id, role, gemeente)
);

CREATE TABLE IF NOT EXISTS account_token (
    id          VARCHAR PRIMARY KEY,    -- public id, shown in lists
    user_id     INTEGER NOT NULL,
    name        VARCHAR NOT NULL,
    hash        VARCHAR NOT NULL UNIQUE,-- SHA-256 of the secret
    scope       VARCHAR NOT NULL,       -- `lezen` or `export`
    gemeenten   VARCHAR NOT NULL,       -- comma-separated subset of the user's
    created_at  VARCHAR NOT NULL,
    expires_at  BIGINT NOT NULL,        -- unix seconds
    revoked     BOOLEAN NOT NULL
);

-- Append only: the code has no UPDATE or DELETE on this table. Each entry carries the hash of
-- the previous one; signed checkpoints of the head are written outside the database.
CREATE TABLE IF NOT EXISTS audit_entry (
    seq       BIGINT PRIMARY KEY,
    logged_at VARCHAR NOT NULL,
    actor     VARCHAR NOT NULL,
    action    VARCHAR NOT NULL,
    target    VARCHAR NOT NULL,
    outcome   VARCHAR NOT NULL,
    gemeenten VARCHAR NOT NULL,
    detail    VARCHAR NOT NULL,
    prev      VARCHAR NOT NULL,
    hash      VARCHAR NOT NULL
);
