-- The reservation store: SQL is the authority for stock. One row per item (the snapshot),
-- every decision in purchases, every change in item_events (the event store), and an outbox
-- that is published to Kafka after commit.

CREATE TABLE items (
  item_id          text        PRIMARY KEY,
  title            text        NOT NULL,
  price_minor      bigint      NOT NULL CHECK (price_minor >= 0),
  currency         char(3)     NOT NULL,
  per_buyer_limit  integer     NOT NULL CHECK (per_buyer_limit >= 1),
  starts_at        timestamptz NULL,
  -- listed = units listed + restocked - withdrawn; the no-oversell invariant is sold <= listed.
  listed           integer     NOT NULL CHECK (listed >= 0),
  sold             integer     NOT NULL DEFAULT 0 CHECK (sold >= 0),
  remaining        integer     NOT NULL CHECK (remaining >= 0),
  version          bigint      NOT NULL CHECK (version >= 1),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT items_stock_balances CHECK (sold + remaining = listed)
);

-- One row per decided purchase (confirmed or rejected). purchase_id is the idempotency anchor:
-- a redelivered BuyRequested finds its row and re-emits the stored outcome.
-- No foreign key to items: a request for an unknown item is decided (rejected) and kept too.
CREATE TABLE purchases (
  purchase_id      text        PRIMARY KEY,
  item_id          text        NOT NULL,
  buyer_id         text        NOT NULL,
  quantity         integer     NOT NULL CHECK (quantity >= 1),
  status           text        NOT NULL CHECK (status IN ('confirmed', 'rejected')),
  reason           text        NULL,
  idempotency_key  text        NULL,
  admission_seq    bigint      NULL,
  admitted_at      timestamptz NULL,
  decided_at       timestamptz NOT NULL DEFAULT now(),
  item_version     bigint      NULL,
  CONSTRAINT purchases_reason_iff_rejected CHECK ((status = 'rejected') = (reason IS NOT NULL))
);
CREATE INDEX purchases_by_item_buyer ON purchases (item_id, buyer_id) WHERE status = 'confirmed';

-- The event store: every change of an item, in order. (item_id, version) is unique, so two
-- writers can never both append version N.
CREATE TABLE item_events (
  item_id      text        NOT NULL,
  version      bigint      NOT NULL CHECK (version >= 1),
  event_type   text        NOT NULL,
  payload      jsonb       NOT NULL,
  occurred_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (item_id, version)
);

-- Transactional outbox: rows written in the same transaction as the decision, published to
-- Kafka afterwards, then marked. A crash in between republishes (consumers dedupe by version).
CREATE TABLE outbox (
  id            bigserial   PRIMARY KEY,
  topic         text        NOT NULL,
  record_key    text        NOT NULL,
  record_value  bytea       NOT NULL,
  headers       jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  published_at  timestamptz NULL
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
