-- One-time passcodes for link-based recipients. The code is stored only as
-- an HMAC with a key derived from the organization secret.
CREATE TABLE passcodes (
    id TEXT PRIMARY KEY,
    recipient_id TEXT NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
    code_mac BYTEA NOT NULL,
    reference TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    used_at BIGINT,
    invalidated BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX passcodes_by_recipient ON passcodes (recipient_id, created_at);
