export {
  createStockViewStore,
  type ReadOptions,
  type StockViewStore,
  type StockViewStoreOptions,
} from './stock-view-store.js';
export { stockViewKeys, type StockViewKeys } from './keys.js';
export { fromHash, stockViewFields, toHashFields } from './stock-view-hash.js';
export { isReadModelError, ReadModelError, type ReadModelErrorCode } from './errors.js';
