-- Audit trail, admin invitations, break-glass recovery codes and admin
-- enforcement (issue 5).

-- Every configuration change: who made it, when, through which interface
-- (wizard, cli, apply, serve, recover) and what changed. AUTOINCREMENT: IDs
-- are never reused, so a reader that remembers the last ID misses nothing.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL DEFAULT '',
    via     TEXT NOT NULL DEFAULT '',
    action  TEXT NOT NULL,
    target  TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT 'ok' CHECK (outcome IN ('ok', 'refused'))
);
CREATE INDEX audit_log_at ON audit_log (at, id);

-- Emails allowed to become admins through admin SSO.
CREATE TABLE admin_invites (
    email_lc   TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    invited_at TEXT NOT NULL,
    invited_by TEXT NOT NULL DEFAULT ''
);

-- One-time recovery codes (SHA-256 of a 100-bit random code; never the code).
CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY,
    code_hash  TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    used_at    TEXT,
    used_by    TEXT NOT NULL DEFAULT ''
);

ALTER TABLE settings ADD COLUMN enforce_admins INTEGER NOT NULL DEFAULT 0;
