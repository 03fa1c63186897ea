-- Quarantine: a job claimed again and again without ever finishing (its
-- worker died each time) is set aside instead of taking down every node.
ALTER TABLE jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_state_check
    CHECK (state IN ('ready', 'done', 'failed', 'cancelled', 'quarantined'));
-- Claims since the job last finished a run (done, retried, failed): each one
-- that never came back was a worker that died.
ALTER TABLE jobs ADD COLUMN open_claims BIGINT NOT NULL DEFAULT 0;

-- Sign-in failures are counted per surface (web sign-in, SMTP AUTH, the
-- portal), so an attack on one does not lock the others.
ALTER TABLE login_failures ADD COLUMN surface TEXT NOT NULL DEFAULT 'web';
DROP INDEX login_failures_by_email;
DROP INDEX login_failures_by_ip;
CREATE INDEX login_failures_by_email ON login_failures (surface, email, at);
CREATE INDEX login_failures_by_ip ON login_failures (surface, ip, at);
