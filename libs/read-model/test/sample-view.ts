import type { StockView } from '@buy-now/contracts';

export function sampleView(overrides: Partial<StockView> = {}): StockView {
  return {
    itemId: 'item-1',
    version: 3,
    title: 'Limited sneakers',
    priceMinor: 12_900,
    currency: 'EUR',
    perBuyerLimit: 2,
    listed: 100,
    available: 97,
    sold: 3,
    status: 'LIVE',
    startsAt: 1_750_000_000_000,
    lastSaleAt: 1_750_000_001_500,
    soldOutAt: null,
    updatedAt: 1_750_000_001_500,
    ...overrides,
  };
}
