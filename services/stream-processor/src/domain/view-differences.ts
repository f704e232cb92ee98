// Comparisons the two view checks print: a replayed view against the live one (rebuild), and the SQL
// event store against the live views (verify). One difference per field, with both sides.
import type { StockView } from '@buy-now/contracts';
import type { ItemTally } from './event-store-tally.js';

export interface ViewDifference {
  itemId: string;
  /**
   * What is compared: the expected view with the live one (`view`), an items row with the events of
   * its item (`items-row`), or events that contradict each other (`item-events`).
   */
  subject: 'view' | 'items-row' | 'item-events';
  field: string;
  /** The side taken as the truth: the replayed view, or what SQL says. */
  expected: string;
  /** The live read model. */
  actual: string;
}

const ABSENT = '(none)';

const show = (value: string | number | null | undefined): string =>
  value === null || value === undefined ? 'null' : String(value);

/** Every field in which the live view differs from the expected one. */
export function stockViewDifferences(
  itemId: string,
  expected: StockView | null,
  actual: StockView | null,
): ViewDifference[] {
  if (expected === null && actual === null) return [];
  if (expected === null || actual === null) {
    return [
      {
        itemId,
        subject: 'view',
        field: 'view',
        expected: expected === null ? ABSENT : `version ${expected.version}`,
        actual: actual === null ? ABSENT : `version ${actual.version}`,
      },
    ];
  }
  return (Object.keys(expected) as (keyof StockView)[])
    .filter((field) => expected[field] !== actual[field])
    .map((field) => ({
      itemId,
      subject: 'view',
      field,
      expected: show(expected[field]),
      actual: show(actual[field]),
    }));
}

/** The items row of the SQL store (its snapshot). */
export interface ItemRow {
  itemId: string;
  version: number;
  listed: number;
  sold: number;
  remaining: number;
}

/** What SQL says against what the view says, and whether SQL agrees with itself. */
export function sqlViewDifferences(
  itemId: string,
  tally: ItemTally | undefined,
  row: ItemRow | undefined,
  view: StockView | null,
): ViewDifference[] {
  const differences: ViewDifference[] = [];
  const differ =
    (subject: ViewDifference['subject']) =>
    (field: string, expected: string | number, actual: string | number): void => {
      if (expected === actual) return;
      differences.push({ itemId, subject, field, expected: show(expected), actual: show(actual) });
    };
  for (const problem of tally?.problems ?? []) {
    differences.push({
      itemId,
      subject: 'item-events',
      field: 'events',
      expected: 'consistent',
      actual: problem,
    });
  }
  const rowDiffers = differ('items-row');
  if (tally === undefined) {
    rowDiffers('row', ABSENT, 'a row without events');
  } else if (row === undefined) {
    rowDiffers('row', `version ${tally.version}`, ABSENT);
  } else {
    rowDiffers('version', tally.version, row.version);
    rowDiffers('listed', tally.listed, row.listed);
    rowDiffers('sold', tally.sold, row.sold);
    rowDiffers('remaining', tally.remaining, row.remaining);
  }
  const viewDiffers = differ('view');
  if (tally === undefined) {
    if (view !== null) viewDiffers('view', ABSENT, `version ${view.version}`);
    return differences;
  }
  if (view === null) {
    viewDiffers('view', `version ${tally.version}`, ABSENT);
    return differences;
  }
  viewDiffers('version', tally.version, view.version);
  viewDiffers('listed', tally.listed, view.listed);
  viewDiffers('sold', tally.sold, view.sold);
  viewDiffers('available', tally.remaining, view.available);
  viewDiffers('status', tally.remaining === 0 ? 'SOLD_OUT' : 'LIVE or SCHEDULED', soldOutOrNot(view));
  return differences;
}

function soldOutOrNot(view: StockView): string {
  return view.status === 'SOLD_OUT' ? 'SOLD_OUT' : 'LIVE or SCHEDULED';
}
