-- Retention (SEALPOST_RETENTION): when a message's content was deleted.
-- The row, its recipients and its events stay for the report.
ALTER TABLE messages ADD COLUMN purged_at BIGINT;
