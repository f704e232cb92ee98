// Epoch milliseconds in and out of each dialect's timestamp columns, the same way in every statement.
export interface TimeColumns {
  /** An SQL expression of epoch milliseconds (bigint) as the dialect's timestamp. */
  readonly fromMs: (expression: string) => string;
  /** A timestamp column or expression as epoch milliseconds (bigint). */
  readonly toMs: (expression: string) => string;
}

/** timestamptz. */
export const postgresTime: TimeColumns = {
  fromMs: (expression) => `to_timestamp((${expression})::bigint / 1000.0)`,
  toMs: (expression) => `(extract(epoch FROM ${expression}) * 1000)::bigint`,
};

const MSSQL_EPOCH = "CAST('1970-01-01T00:00:00' AS datetime2(3))";

/**
 * datetime2(3), in UTC. Days and milliseconds are added separately because DATEADD takes an int, and
 * milliseconds since 1970 do not fit one.
 */
export const mssqlTime: TimeColumns = {
  fromMs: (expression) =>
    `DATEADD(millisecond, CAST((${expression}) % 86400000 AS int), DATEADD(day, CAST((${expression}) / 86400000 AS int), ${MSSQL_EPOCH}))`,
  toMs: (expression) => `DATEDIFF_BIG(millisecond, ${MSSQL_EPOCH}, ${expression})`,
};
