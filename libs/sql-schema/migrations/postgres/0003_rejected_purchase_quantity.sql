-- A request for fewer than one unit is still decided (rejected INVALID_QUANTITY) and kept as asked,
-- so a purchase needs a positive quantity only when it is confirmed.
ALTER TABLE purchases DROP CONSTRAINT purchases_quantity_check;
ALTER TABLE purchases
  ADD CONSTRAINT purchases_quantity_positive_if_confirmed CHECK (status = 'rejected' OR quantity >= 1);
