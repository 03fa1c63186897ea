-- sealpost schema, PostgreSQL (the same shape as sqlite/). Times are Unix milliseconds (UTC); ids are
-- UUIDv7 text unless a comment says otherwise.

CREATE TABLE organization (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    org_id TEXT NOT NULL,                 -- 128 random bits, hex
    wrapped_secret BYTEA NOT NULL,         -- organization secret, wrapped by the root key
    created_at BIGINT NOT NULL
);

CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE keys (
    key_id TEXT PRIMARY KEY,              -- 128 random bits, hex
    wrapped_key BYTEA NOT NULL,            -- wrapped by the root key
    is_current BOOLEAN NOT NULL DEFAULT FALSE,
    origin TEXT NOT NULL DEFAULT 'local', -- 'local' or 'imported'
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX keys_one_current ON keys (is_current) WHERE is_current;

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('sender', 'admin')),
    password_hash TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE templates (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    logo BYTEA,
    logo_content_type TEXT,
    background_color TEXT,
    introduction_text TEXT,
    read_button_text TEXT,
    email_text TEXT,
    disclaimer_text TEXT,
    portal_text TEXT,
    privacy_statement_url TEXT,
    otp_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    social_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    expiry_days BIGINT NOT NULL DEFAULT 0 CHECK (expiry_days BETWEEN 0 AND 730),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX templates_one_default ON templates (is_default) WHERE is_default;

-- One row per accepted message (SMTP transaction, compose, or `protect`).
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,             -- RFC 5322 Message-ID, angle brackets included
    sender TEXT NOT NULL,                 -- envelope sender; '' for the null sender
    subject TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,                 -- 'smtp', 'web', 'protect'
    envelope TEXT NOT NULL DEFAULT '{}',  -- JSON: from, to, peer, helo
    envelope_digest BYTEA,                 -- envelope + content digest, for duplicate transactions
    content BYTEA,                         -- the raw MIME, sealed with the keyring, bound to id
    size BIGINT NOT NULL DEFAULT 0,
    protected BOOLEAN NOT NULL DEFAULT FALSE,
    rights TEXT CHECK (rights IN ('encrypt-only', 'do-not-forward')),
    template_id TEXT REFERENCES templates (id),
    state TEXT NOT NULL DEFAULT 'received',
    received_at BIGINT NOT NULL,
    protected_at BIGINT,
    expires_at BIGINT,
    revoked_at BIGINT,
    revoked_by TEXT
);
CREATE INDEX messages_by_message_id ON messages (message_id, sender);
CREATE INDEX messages_by_sender ON messages (sender, received_at);
CREATE UNIQUE INDEX messages_by_envelope ON messages (envelope_digest);

CREATE TABLE recipients (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    experience TEXT NOT NULL CHECK (experience IN ('link', 'inline')),
    state TEXT NOT NULL DEFAULT 'pending',
    token_hash BYTEA UNIQUE,               -- SHA-256 of the link token (link-based only)
    failed_passcodes BIGINT NOT NULL DEFAULT 0,
    passcode_locked_until BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX recipients_by_message ON recipients (message_id);
CREATE INDEX recipients_by_address ON recipients (address);

-- The audit trail: every step of every message, and administrative actions.
CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    message_id TEXT REFERENCES messages (id) ON DELETE CASCADE,
    recipient TEXT,
    actor TEXT,
    detail TEXT
);
CREATE INDEX events_by_message ON events (message_id, id);
CREATE INDEX events_by_time ON events (at);

-- Work for the pipeline and the outbound queue; leased by workers.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    message_id TEXT REFERENCES messages (id) ON DELETE CASCADE,
    purpose TEXT,                         -- 'pipeline', 'notification', 'inline', 'relay', 'ndr', 'passcode'
    recipient_id TEXT,
    envelope_from TEXT,
    envelope_to TEXT,                     -- JSON array
    payload BYTEA,                         -- sealed when it holds message content
    state TEXT NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'done', 'failed', 'cancelled')),
    attempts BIGINT NOT NULL DEFAULT 0,
    run_at BIGINT NOT NULL,
    lease_until BIGINT,
    leased_by TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    give_up_at BIGINT NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, run_at);

-- Failed sign-ins, counted per account and per IP address.
CREATE TABLE login_failures (
    id BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL,
    ip TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_by_email ON login_failures (email, at);
CREATE INDEX login_failures_by_ip ON login_failures (ip, at);

-- The local outbox: outgoing mail kept, sealed, when no relay is configured
-- (shown at /dev/outbox in development mode).
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL UNIQUE,
    message_id TEXT,
    envelope_from TEXT NOT NULL,
    envelope_to TEXT NOT NULL,            -- JSON array
    subject TEXT NOT NULL DEFAULT '',
    content BYTEA NOT NULL,                 -- the job's sealed payload, bound to job_id
    created_at BIGINT NOT NULL
);
CREATE INDEX outbox_by_time ON outbox (created_at);
