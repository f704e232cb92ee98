// GET /items and the WebSocket's first views come from the stream processor's read model (the
// StockViews it folds from item-events), not from a fold of the gateway's own: one view, one writer.
import type { StockViewStore } from '@buy-now/read-model';
import type { Logger } from '@buy-now/observability';
import { itemViewOf } from '../../domain/item-view.js';
import type { ItemCatalogue } from '../../domain/ports.js';

export function createReadModelCatalogue(deps: {
  views: StockViewStore;
  clock: () => number;
  logger: Logger;
}): ItemCatalogue {
  // One unreadable view (a bug or a hand edit) must not take every other item down with it.
  const readOptions = {
    onInvalid: (itemId: string, error: Error) =>
      deps.logger.error({ itemId, err: error }, 'stored stock view unreadable; rebuild the views'),
  };
  return {
    async getItem(itemId) {
      const view = (await deps.views.getMany([itemId], readOptions)).get(itemId);
      return view === undefined ? null : itemViewOf(view, deps.clock());
    },
    async getItems(itemIds) {
      const now = deps.clock();
      const views = await deps.views.getMany(itemIds, readOptions);
      return [...views.values()].map((view) => itemViewOf(view, now));
    },
    async listItems() {
      const now = deps.clock();
      return (await deps.views.list(readOptions)).map((view) => itemViewOf(view, now));
    },
  };
}
