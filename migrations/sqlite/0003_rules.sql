-- Transport rules, run in priority order (0 first) on every message. The
-- conditions and actions are one JSON document, validated by the server
-- before it is stored.
CREATE TABLE rules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    priority BIGINT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX rules_by_priority ON rules (priority);
