// Items as GET /items and the stock frames have them; a view only replaces an older one.

export interface Item {
  itemId: string;
  title: string;
  priceMinor: number;
  currency: string;
  perBuyerLimit: number;
  startsAt: string | null;
  listed: number;
  available: number;
  sold: number;
  status: 'scheduled' | 'live' | 'sold-out';
  version: number;
}

export function newer(known: Item | undefined, incoming: Item): boolean {
  return known === undefined || incoming.version > known.version;
}

export async function fetchItems(): Promise<Item[]> {
  const response = await fetch('/items');
  if (!response.ok) throw new Error(`GET /items answered ${response.status}`);
  return ((await response.json()) as { items: Item[] }).items;
}
