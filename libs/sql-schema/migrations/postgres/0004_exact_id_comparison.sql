-- Ids must compare exactly. PostgreSQL's default collation is deterministic, so text keys already
-- do; the SQL Server migration of this number makes its id columns do the same. Nothing to change
-- here: the version exists so both dialects keep one numbering.
SELECT 1;
