-- A request for fewer than one unit is still decided (rejected INVALID_QUANTITY) and kept as asked,
-- so a purchase needs a positive quantity only when it is confirmed. Migration 0001 left the old
-- check unnamed, so its generated name is looked up (a column-level check names its column).
DECLARE @quantity_check sysname = (
  SELECT cc.name
  FROM sys.check_constraints AS cc
  JOIN sys.columns AS c ON c.object_id = cc.parent_object_id AND c.column_id = cc.parent_column_id
  WHERE cc.parent_object_id = OBJECT_ID(N'dbo.purchases') AND c.name = N'quantity'
);
IF @quantity_check IS NOT NULL
BEGIN
  DECLARE @drop_quantity_check nvarchar(400) =
    N'ALTER TABLE dbo.purchases DROP CONSTRAINT ' + QUOTENAME(@quantity_check);
  EXEC sp_executesql @drop_quantity_check;
END;
ALTER TABLE dbo.purchases
  ADD CONSTRAINT purchases_quantity_positive_if_confirmed CHECK (status = 'rejected' OR quantity >= 1);
