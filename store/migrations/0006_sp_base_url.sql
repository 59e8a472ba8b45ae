-- The SP base URL the wizard or `serve` last served, so that `status` and
-- `inspect` show the URLs the admin actually gave the IdP.
ALTER TABLE settings ADD COLUMN sp_base_url TEXT NOT NULL DEFAULT '';
