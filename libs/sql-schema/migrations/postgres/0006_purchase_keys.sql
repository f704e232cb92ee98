-- One purchase per buying intent, enforced by SQL itself. The gate's Idempotency-Key lives in Redis; if
-- Redis forgets it (a flush, a failover) a retry is admitted afresh under a new purchase id, and nothing
-- in purchases would stop a second purchase. Each (item, buyer, key) gets one row here, written in the
-- same transaction as the first purchase decided for it, whatever its outcome; the primary key refuses a
-- second, even from a buggy decider. The retry's own row (rejected DUPLICATE_REQUEST) stays in purchases,
-- by purchase id, so its redelivery is recognised; it never holds a key. A unique index on purchases would
-- have to leave those rows out, and SQL Server's filtered indexes cannot say "reason IS NULL OR reason <>
-- 'DUPLICATE_REQUEST'", hence a table of its own, the same in both dialects.
CREATE TABLE purchase_keys (
  item_id          text NOT NULL,
  buyer_id         text NOT NULL,
  idempotency_key  text NOT NULL,
  -- The purchase that holds the key: a DUPLICATE_REQUEST names it to the buyer.
  purchase_id      text NOT NULL,
  CONSTRAINT purchase_keys_pk PRIMARY KEY (item_id, buyer_id, idempotency_key)
);

-- Purchases decided before this migration may already hold one key twice (the very bug this closes):
-- the earliest decided holds it, in decision order, then admission order; the later ones stay as they are.
INSERT INTO purchase_keys (item_id, buyer_id, idempotency_key, purchase_id)
SELECT item_id, buyer_id, idempotency_key, purchase_id
FROM (
  SELECT item_id, buyer_id, idempotency_key, purchase_id,
    row_number() OVER (
      PARTITION BY item_id, buyer_id, idempotency_key
      ORDER BY decided_at, CASE WHEN admission_seq IS NULL THEN 1 ELSE 0 END, admission_seq, admitted_at,
        purchase_id
    ) AS rank_in_key
  FROM purchases
  WHERE idempotency_key IS NOT NULL AND (reason IS NULL OR reason <> 'DUPLICATE_REQUEST')
) AS ranked
WHERE rank_in_key = 1;
