-- Email domains per IdP (JSON list, lower case): an IdP with domains may sign
-- in only emails of those domains, and the join page routes them to it.
-- '[]': no restriction (the IdP's own hints route, as before).
ALTER TABLE idps ADD COLUMN domains TEXT NOT NULL DEFAULT '[]';
-- Signed AuthnRequests per IdP: '' follows the IdP metadata's
-- WantAuthnRequestsSigned, 'on' always signs, 'off' never does.
ALTER TABLE idps ADD COLUMN sign_requests TEXT NOT NULL DEFAULT '' CHECK (sign_requests IN ('', 'on', 'off'));
