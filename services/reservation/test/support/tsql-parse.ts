// Parses T-SQL with node-sql-parser's transactsql grammar. No SQL Server runs where these tests do, so
// this is the check every statement gets here: a statement the grammar cannot read is named, with why
// and with a rewrite that removes only what it cannot read, so the rest of the statement is still read.
import sqlParser from 'node-sql-parser';
import { expect, it } from 'vitest';

const parser = new sqlParser.Parser();

export function parseTsql(text: string): void {
  parser.astify(text, { database: 'transactsql' });
}

export interface Unparsable {
  /** What in the statement the grammar does not know (SQL Server does). */
  reason: string;
  /** The statement without that construct, which must parse; none when nothing is left worth reading. */
  rest?: (text: string) => string;
}

/** `OPENJSON(@x) WITH (column type 'path', …)` → `OPENJSON(@x)`: the grammar lacks the schema clause. */
export const withoutOpenJsonSchema = (text: string): string =>
  text.replace(/OPENJSON\((@\w+)\)\s+WITH\s*\((?:[^()]|\([^()]*\))*\)/g, 'OPENJSON($1)');

/** `EXEC sp_executesql @sql` → `EXEC sp_executesql @statement = @sql`: the grammar takes named arguments only. */
export const withNamedExecArgument = (text: string): string =>
  text.replace(/EXEC sp_executesql @(\w+)/g, 'EXEC sp_executesql @statement = @$1');

/**
 * One test per statement: it parses, or it is listed in `unparsable` and still fails (so the list stays
 * honest) while its `rest` parses. A listed name that is no statement fails too.
 */
export function expectEveryStatementParses(
  statements: Readonly<Record<string, string>>,
  unparsable: Readonly<Record<string, Unparsable>>,
): void {
  it('lists only statements that exist', () => {
    expect(Object.keys(unparsable).filter((name) => !(name in statements))).toEqual([]);
  });
  for (const [name, text] of Object.entries(statements)) {
    const known = unparsable[name];
    if (known === undefined) {
      it(`parses ${name}`, () => {
        expect(() => parseTsql(text)).not.toThrow();
      });
    } else {
      it(`cannot parse ${name} (${known.reason}), and parses the rest of it`, () => {
        expect(() => parseTsql(text)).toThrow();
        if (known.rest !== undefined) expect(() => parseTsql(known.rest!(text))).not.toThrow();
      });
    }
  }
}
