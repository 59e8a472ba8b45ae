-- Pinned metadata signers: certificates (JSON list of base64 DER) that must
-- have signed an IdP's metadata, so that every later refresh is verified too.
-- '[]' (nothing pinned): unsigned metadata stays acceptable.
ALTER TABLE idps ADD COLUMN metadata_signers TEXT NOT NULL DEFAULT '[]';
