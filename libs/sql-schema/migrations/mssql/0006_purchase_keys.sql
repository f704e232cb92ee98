-- One purchase per buying intent, enforced by SQL itself; see the PostgreSQL migration of this number for
-- why. Keys compare exactly (binary collation, as in 0004). The three key columns may take 1,200 bytes,
-- over the 900 of a clustered key, so the primary key is nonclustered (its limit is 1,700).
CREATE TABLE dbo.purchase_keys (
  item_id          nvarchar(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
  buyer_id         nvarchar(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
  idempotency_key  nvarchar(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
  purchase_id      nvarchar(100) COLLATE Latin1_General_100_BIN2 NOT NULL,
  CONSTRAINT purchase_keys_pk PRIMARY KEY NONCLUSTERED (item_id, buyer_id, idempotency_key)
);

-- Earlier duplicates: the earliest decided purchase of each key holds it. purchases.idempotency_key kept
-- the database's default collation, so keys are grouped by the exact one the new table compares with.
INSERT INTO dbo.purchase_keys (item_id, buyer_id, idempotency_key, purchase_id)
SELECT item_id, buyer_id, idempotency_key, purchase_id
FROM (
  SELECT item_id, buyer_id, idempotency_key COLLATE Latin1_General_100_BIN2 AS idempotency_key, purchase_id,
    ROW_NUMBER() OVER (
      PARTITION BY item_id, buyer_id, idempotency_key COLLATE Latin1_General_100_BIN2
      ORDER BY decided_at, CASE WHEN admission_seq IS NULL THEN 1 ELSE 0 END, admission_seq, admitted_at,
        purchase_id
    ) AS rank_in_key
  FROM dbo.purchases
  WHERE idempotency_key IS NOT NULL AND (reason IS NULL OR reason <> 'DUPLICATE_REQUEST')
) AS ranked
WHERE rank_in_key = 1;
