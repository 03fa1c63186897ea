-- Quarantine: a job claimed again and again without ever finishing (its
-- worker died each time) is set aside instead of taking down every node.
-- SQLite cannot change a CHECK constraint, so the table is rebuilt.
CREATE TABLE jobs_new (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    message_id TEXT REFERENCES messages (id) ON DELETE CASCADE,
    purpose TEXT,
    recipient_id TEXT,
    envelope_from TEXT,
    envelope_to TEXT,
    payload BLOB,
    state TEXT NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'done', 'failed', 'cancelled', 'quarantined')),
    attempts BIGINT NOT NULL DEFAULT 0,
    -- Claims since the job last finished a run (done, retried, failed):
    -- each one that never came back was a worker that died.
    open_claims BIGINT NOT NULL DEFAULT 0,
    run_at BIGINT NOT NULL,
    lease_until BIGINT,
    leased_by TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    give_up_at BIGINT NOT NULL
);
INSERT INTO jobs_new (id, kind, dedupe_key, message_id, purpose, recipient_id, envelope_from,
    envelope_to, payload, state, attempts, run_at, lease_until, leased_by, last_error, created_at, give_up_at)
SELECT id, kind, dedupe_key, message_id, purpose, recipient_id, envelope_from,
    envelope_to, payload, state, attempts, run_at, lease_until, leased_by, last_error, created_at, give_up_at
FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_ready ON jobs (state, run_at);

-- Sign-in failures are counted per surface (web sign-in, SMTP AUTH, the
-- portal), so an attack on one does not lock the others.
ALTER TABLE login_failures ADD COLUMN surface TEXT NOT NULL DEFAULT 'web';
DROP INDEX login_failures_by_email;
DROP INDEX login_failures_by_ip;
CREATE INDEX login_failures_by_email ON login_failures (surface, email, at);
CREATE INDEX login_failures_by_ip ON login_failures (surface, ip, at);
