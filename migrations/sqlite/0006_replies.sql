-- Secure replies from the portal: which recipient copy answered, with
-- which message. A reply is reserved here before it is accepted, so the
-- hourly limit per copy holds under parallel requests.
CREATE TABLE replies (
    id TEXT PRIMARY KEY,
    recipient_id TEXT NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
    original_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    reply_id TEXT REFERENCES messages (id) ON DELETE SET NULL,
    -- What the portal lists under the message (text, recipients, file
    -- names), sealed, so a page view decrypts no whole messages.
    summary BLOB,
    created_at BIGINT NOT NULL
);
CREATE INDEX replies_by_recipient ON replies (recipient_id, created_at);
