-- The login path's two short-lived tables as WITHOUT ROWID tables: keyed by
-- their text primary key alone, each is one B-tree instead of a rowid table
-- plus the automatic index of its key, so a login writes one page less in
-- each. Same columns, keys and expiry indexes; the rows are carried over
-- (but for a NULL RelayState, which the old table allowed and no lookup can
-- ever match, and which a WITHOUT ROWID key refuses).

CREATE TABLE pending_requests_0007 (
    relay_state TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL,
    idp_name    TEXT NOT NULL,
    role        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO pending_requests_0007 (relay_state, request_id, idp_name, role, created_at, expires_at)
    SELECT relay_state, request_id, idp_name, role, created_at, expires_at FROM pending_requests
    WHERE relay_state IS NOT NULL;
DROP TABLE pending_requests;
ALTER TABLE pending_requests_0007 RENAME TO pending_requests;
CREATE INDEX pending_requests_expires_at ON pending_requests (expires_at);

CREATE TABLE seen_assertions_0007 (
    assertion_id TEXT NOT NULL,
    idp          TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    PRIMARY KEY (assertion_id, idp)
) WITHOUT ROWID;
INSERT INTO seen_assertions_0007 (assertion_id, idp, expires_at)
    SELECT assertion_id, idp, expires_at FROM seen_assertions;
DROP TABLE seen_assertions;
ALTER TABLE seen_assertions_0007 RENAME TO seen_assertions;
CREATE INDEX seen_assertions_expires_at ON seen_assertions (expires_at);

-- Accounts are listed in row-ID order (the order they were created), so the
-- created_at index only cost every new account one more page to write.
DROP INDEX accounts_created_at;
