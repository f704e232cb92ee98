-- Ids must compare exactly, as PostgreSQL compares text. Under SQL Server's usual case-insensitive
-- default collation, 'Item-1' and 'item-1' would be one item, 'Alice' and 'alice' one buyer sharing a
-- per-buyer limit, and a purchase id differing only in case would collide with another's row.
-- A column's collation cannot change while a key or index uses it, so those are dropped and re-created
-- (0001 left the primary keys unnamed; their generated names are looked up).
DECLARE @drop_keys nvarchar(max) = N'';
SELECT @drop_keys = @drop_keys + N'ALTER TABLE dbo.' + QUOTENAME(OBJECT_NAME(parent_object_id))
  + N' DROP CONSTRAINT ' + QUOTENAME(name) + N'; '
FROM sys.key_constraints
WHERE type = 'PK'
  AND parent_object_id IN (OBJECT_ID(N'dbo.items'), OBJECT_ID(N'dbo.purchases'), OBJECT_ID(N'dbo.item_events'));
EXEC sp_executesql @drop_keys;
DROP INDEX purchases_by_item_buyer ON dbo.purchases;

ALTER TABLE dbo.items ALTER COLUMN item_id nvarchar(200) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE dbo.purchases ALTER COLUMN purchase_id nvarchar(100) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE dbo.purchases ALTER COLUMN item_id nvarchar(200) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE dbo.purchases ALTER COLUMN buyer_id nvarchar(200) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE dbo.item_events ALTER COLUMN item_id nvarchar(200) COLLATE Latin1_General_100_BIN2 NOT NULL;
ALTER TABLE dbo.outbox ALTER COLUMN record_key nvarchar(200) COLLATE Latin1_General_100_BIN2 NOT NULL;

ALTER TABLE dbo.items ADD CONSTRAINT items_pk PRIMARY KEY (item_id);
ALTER TABLE dbo.purchases ADD CONSTRAINT purchases_pk PRIMARY KEY (purchase_id);
ALTER TABLE dbo.item_events ADD CONSTRAINT item_events_pk PRIMARY KEY (item_id, version);
CREATE INDEX purchases_by_item_buyer ON dbo.purchases (item_id, buyer_id) WHERE status = 'confirmed';
