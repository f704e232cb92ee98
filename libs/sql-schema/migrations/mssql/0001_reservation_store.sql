-- The reservation store for SQL Server; the same tables and constraints as the PostgreSQL
-- migration of the same number (see there for why each exists).

CREATE TABLE items (
  item_id          nvarchar(200)  NOT NULL PRIMARY KEY,
  title            nvarchar(400)  NOT NULL,
  price_minor      bigint         NOT NULL CHECK (price_minor >= 0),
  currency         char(3)        NOT NULL,
  per_buyer_limit  int            NOT NULL CHECK (per_buyer_limit >= 1),
  starts_at        datetime2(3)   NULL,
  listed           int            NOT NULL CHECK (listed >= 0),
  sold             int            NOT NULL DEFAULT 0 CHECK (sold >= 0),
  remaining        int            NOT NULL CHECK (remaining >= 0),
  version          bigint         NOT NULL CHECK (version >= 1),
  created_at       datetime2(3)   NOT NULL DEFAULT SYSUTCDATETIME(),
  updated_at       datetime2(3)   NOT NULL DEFAULT SYSUTCDATETIME(),
  CONSTRAINT items_stock_balances CHECK (sold + remaining = listed)
);

CREATE TABLE purchases (
  purchase_id      nvarchar(100)  NOT NULL PRIMARY KEY,
  item_id          nvarchar(200)  NOT NULL,
  buyer_id         nvarchar(200)  NOT NULL,
  quantity         int            NOT NULL CHECK (quantity >= 1),
  status           varchar(16)    NOT NULL CHECK (status IN ('confirmed', 'rejected')),
  reason           varchar(32)    NULL,
  idempotency_key  nvarchar(200)  NULL,
  admission_seq    bigint         NULL,
  admitted_at      datetime2(3)   NULL,
  decided_at       datetime2(3)   NOT NULL DEFAULT SYSUTCDATETIME(),
  item_version     bigint         NULL,
  CONSTRAINT purchases_reason_iff_rejected CHECK (
    (status = 'rejected' AND reason IS NOT NULL) OR (status = 'confirmed' AND reason IS NULL))
);
CREATE INDEX purchases_by_item_buyer ON purchases (item_id, buyer_id) WHERE status = 'confirmed';

CREATE TABLE item_events (
  item_id      nvarchar(200)  NOT NULL,
  version      bigint         NOT NULL CHECK (version >= 1),
  event_type   varchar(64)    NOT NULL,
  payload      nvarchar(max)  NOT NULL CHECK (ISJSON(payload) = 1),
  occurred_at  datetime2(3)   NOT NULL DEFAULT SYSUTCDATETIME(),
  CONSTRAINT item_events_pk PRIMARY KEY (item_id, version)
);

CREATE TABLE outbox (
  id            bigint IDENTITY(1,1) NOT NULL PRIMARY KEY,
  topic         nvarchar(249)  NOT NULL,
  record_key    nvarchar(200)  NOT NULL,
  record_value  varbinary(max) NOT NULL,
  headers       nvarchar(max)  NOT NULL DEFAULT N'{}',
  created_at    datetime2(3)   NOT NULL DEFAULT SYSUTCDATETIME(),
  published_at  datetime2(3)   NULL
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
