-- Initial schema. Times are UTC text in a fixed-width RFC 3339 form
-- (2006-01-02T15:04:05.000000000Z) so that they read well and compare as
-- strings; NULL means "never". Booleans are 0/1 integers; lists and maps are
-- JSON text.

-- The organization being set up: one row.
CREATE TABLE org (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- The SSO switches and the wizard's position: one row, present from the
-- start so that every command works on a fresh database.
CREATE TABLE settings (
    id                   INTEGER PRIMARY KEY CHECK (id = 1),
    sso_participants     INTEGER NOT NULL DEFAULT 0,
    sso_admins           INTEGER NOT NULL DEFAULT 0,
    enforce_participants INTEGER NOT NULL DEFAULT 0,
    wizard_step          INTEGER NOT NULL DEFAULT 1
);
INSERT INTO settings (id) VALUES (1);

-- Program admins; email_lc makes the email unique case-insensitively.
CREATE TABLE admins (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL,
    email_lc      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

-- Consecutive failed sign-ins per (lowercased) email, for throttling.
CREATE TABLE signin_failures (
    email_lc TEXT PRIMARY KEY,
    count    INTEGER NOT NULL,
    last_at  TEXT NOT NULL
);
CREATE INDEX signin_failures_last_at ON signin_failures (last_at);

-- Identity providers. The raw metadata is kept beside the parsed fields.
CREATE TABLE idps (
    id                         INTEGER PRIMARY KEY,
    name                       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    entity_id                  TEXT NOT NULL UNIQUE,
    product                    TEXT NOT NULL DEFAULT '',
    metadata_xml               TEXT NOT NULL DEFAULT '',
    source                     TEXT NOT NULL DEFAULT '',
    sso_endpoints              TEXT NOT NULL DEFAULT '[]',
    signing_certs              TEXT NOT NULL DEFAULT '[]',
    want_authn_requests_signed INTEGER NOT NULL DEFAULT 0,
    email_attribute            TEXT NOT NULL DEFAULT '',
    email_from_nameid          INTEGER NOT NULL DEFAULT 0,
    attribute_map              TEXT NOT NULL DEFAULT '{}',
    allow_unsolicited          INTEGER NOT NULL DEFAULT 0,
    created_at                 TEXT NOT NULL,
    updated_at                 TEXT NOT NULL,
    last_tested_at             TEXT,
    last_test_email            TEXT NOT NULL DEFAULT ''
);

-- Participant accounts. idp_name is empty for password-only accounts.
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL,
    email_lc      TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('mentee', 'mentor')),
    idp_name      TEXT NOT NULL DEFAULT '',
    name_id       TEXT NOT NULL DEFAULT '',
    password_hash TEXT,
    created_at    TEXT NOT NULL,
    last_login_at TEXT
);
CREATE INDEX accounts_idp_name ON accounts (idp_name);
CREATE INDEX accounts_created_at ON accounts (created_at, id);

-- Every login attempt at the SP. AUTOINCREMENT: IDs are never reused, so a
-- poller that remembers the last ID it saw never misses or repeats one.
CREATE TABLE attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    ref             TEXT NOT NULL UNIQUE,
    at              TEXT NOT NULL,
    idp_name        TEXT NOT NULL DEFAULT '',
    role            TEXT NOT NULL DEFAULT '',
    outcome         TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    check_name      TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    expected        TEXT NOT NULL DEFAULT '',
    received        TEXT NOT NULL DEFAULT '',
    fix             TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    name_id         TEXT NOT NULL DEFAULT '',
    attributes      TEXT NOT NULL DEFAULT '{}',
    via             TEXT NOT NULL DEFAULT '',
    account_created INTEGER NOT NULL DEFAULT 0
);

-- AuthnRequests awaiting an answer, bound to their RelayState token.
CREATE TABLE pending_requests (
    relay_state TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL,
    idp_name    TEXT NOT NULL,
    role        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX pending_requests_expires_at ON pending_requests (expires_at);

-- Assertion IDs already consumed, per IdP, for replay detection.
CREATE TABLE seen_assertions (
    assertion_id TEXT NOT NULL,
    idp          TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    PRIMARY KEY (assertion_id, idp)
);
CREATE INDEX seen_assertions_expires_at ON seen_assertions (expires_at);

-- Key pairs and other secrets (PEM), by name.
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
