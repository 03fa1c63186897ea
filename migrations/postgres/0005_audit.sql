-- The audit trail: every change an administrator or a sender makes, from
-- any surface, written in the same transaction as the change itself.
CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,                  -- user:<email>, token:<name> of <email>, command line as <os user>
    actor_email TEXT,                     -- the organization user behind it, for --actor
    surface TEXT NOT NULL CHECK (surface IN ('web', 'api', 'cli')),
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
);
CREATE INDEX audit_by_time ON audit (at, id);
CREATE INDEX audit_by_actor ON audit (actor_email, at);
