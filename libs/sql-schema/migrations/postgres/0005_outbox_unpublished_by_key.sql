-- Each item's transaction reads the item's unpublished outbox rows (left by a crash between commit
-- and publish) to send them before its own: this keeps that read an index lookup.
CREATE INDEX outbox_unpublished_by_key ON outbox (record_key, id) WHERE published_at IS NULL;
