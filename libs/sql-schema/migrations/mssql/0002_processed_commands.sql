-- ListItem and AdjustStock carry no purchase id, so their ids are recorded here, in the same
-- transaction that applies (or deliberately ignores) them: a redelivered command is then a no-op.
-- Ids compare exactly, as in PostgreSQL (see 0004 for why).
CREATE TABLE processed_commands (
  command_id    nvarchar(100)  COLLATE Latin1_General_100_BIN2 NOT NULL PRIMARY KEY,
  item_id       nvarchar(200)  COLLATE Latin1_General_100_BIN2 NOT NULL,
  processed_at  datetime2(3)   NOT NULL DEFAULT SYSUTCDATETIME()
);
