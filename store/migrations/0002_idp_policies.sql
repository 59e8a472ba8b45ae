-- Per-IdP security policies, safe by default: legacy SHA-1 signatures are
-- refused unless allowed, and skew_ms = 0 means the SP's default skew.
ALTER TABLE idps ADD COLUMN allow_sha1 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idps ADD COLUMN skew_ms INTEGER NOT NULL DEFAULT 0 CHECK (skew_ms >= 0 AND skew_ms <= 600000);
