// The live dashboard: orders per second over the last minute, each item's remaining and sold units and
// time to sell out, and the lag of each consumer group; all pushed over the WebSocket.
import './styles.css';
import { drawRateChart } from './lib/chart.js';
import { durationInWords } from './lib/countdown.js';
import type { Item } from './lib/items.js';
import { newer } from './lib/items.js';
import { openLiveSocket, type LiveFrame } from './lib/live-socket.js';
import { addWindows, currentRate, ratePoints, timeToSellOut, type SalesWindow } from './lib/orders-series.js';

interface LagRow {
  group: string;
  groupId: string;
  topic: string;
  lag: number;
}

const ALL = '*';
const series = new Map<string, SalesWindow[]>();
const items = new Map<string, Item>();
let lag: LagRow[] = [];

const rate = document.querySelector<HTMLOutputElement>('#orders-rate')!;
const total = document.querySelector<HTMLElement>('#orders-total')!;
const chart = document.querySelector<HTMLCanvasElement>('#rate-chart')!;
const itemRows = document.querySelector<HTMLTableSectionElement>('#item-rows')!;
const lagRows = document.querySelector<HTMLTableSectionElement>('#lag-rows')!;
const connection = document.querySelector<HTMLElement>('#connection')!;

function row(cells: string[]): HTMLTableRowElement {
  const tr = document.createElement('tr');
  cells.forEach((text, i) => {
    const cell = document.createElement(i === 0 ? 'th' : 'td');
    if (i === 0) cell.setAttribute('scope', 'row');
    cell.textContent = text;
    tr.append(cell);
  });
  return tr;
}

function sellOutText(item: Item, now: number): string {
  const estimate = timeToSellOut(series.get(item.itemId) ?? [], item.available, now);
  if (estimate.kind === 'sold-out') return `sold out in ${durationInWords(estimate.ms)}`;
  if (item.status === 'sold-out') return 'sold out';
  if (estimate.kind === 'estimate') return `≈ ${durationInWords(estimate.ms)} at this rate`;
  return '—';
}

function render(): void {
  const now = Date.now();
  const all = series.get(ALL) ?? [];
  rate.value = String(Math.round(currentRate(all, now)));
  rate.textContent = rate.value;
  const newest = all.at(-1);
  total.textContent = `${newest?.totalOrders ?? 0} orders in total`;
  drawRateChart(chart, ratePoints(all, 60));
  itemRows.replaceChildren(
    ...[...items.values()]
      .sort((a, b) => a.title.localeCompare(b.title))
      .map((item) =>
        row([item.title, `${item.available} of ${item.listed}`, String(item.sold), sellOutText(item, now)]),
      ),
  );
  lagRows.replaceChildren(...lag.map((entry) => row([entry.group, entry.topic, String(entry.lag)])));
}

openLiveSocket(
  () => [{ subscribe: ['*'], follow: ['metrics', 'lag'] }],
  (frame: LiveFrame) => {
    if (frame.type === 'stock') {
      const view = frame.view as Item;
      if (newer(items.get(view.itemId), view)) items.set(view.itemId, view);
    } else if (frame.type === 'metrics') {
      const byItem = new Map<string, SalesWindow[]>();
      for (const w of frame.metrics as SalesWindow[])
        byItem.set(w.itemId, [...(byItem.get(w.itemId) ?? []), w]);
      for (const [itemId, windows] of byItem)
        series.set(itemId, addWindows(series.get(itemId) ?? [], windows));
    } else if (frame.type === 'lag') {
      lag = frame.groups as LagRow[];
    }
  },
  (connected) => {
    connection.textContent = connected ? 'Live' : 'Reconnecting…';
    connection.dataset.state = connected ? 'live' : 'down';
  },
);
render();
setInterval(render, 500);
