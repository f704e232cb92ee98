// A stock view as a record on stock-views: the view itself, keyed by item, plus the position in
// item-events it was folded up to (the view-source header), so a restore knows where to refold from.
import { encode, formatViewSource, HeaderNames, type StockView, type ViewSource } from '@buy-now/contracts';
import type { RecordToSend } from '@buy-now/kafka';

export function stockViewRecord(topic: string, view: StockView, source: ViewSource): RecordToSend {
  const encoded = encode('StockView', view);
  return {
    topic,
    ...encoded,
    headers: { ...encoded.headers, [HeaderNames.viewSource]: formatViewSource(source) },
  };
}
