-- ListItem and AdjustStock carry no purchase id, so their ids are recorded here, in the same
-- transaction that applies (or deliberately ignores) them: a redelivered command is then a no-op.
CREATE TABLE processed_commands (
  command_id    text        PRIMARY KEY,
  item_id       text        NOT NULL,
  processed_at  timestamptz NOT NULL DEFAULT now()
);
