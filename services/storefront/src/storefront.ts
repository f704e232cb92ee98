// The storefront: every item on sale with a live stock bar, a countdown to its start, and a Buy Now
// button that shows pending → confirmed or rejected.
import './styles.css';
import { buyNow } from './lib/buy.js';
import { priceInWords, saleClock } from './lib/countdown.js';
import { fetchItems, newer, type Item } from './lib/items.js';
import { openLiveSocket, type LiveFrame } from './lib/live-socket.js';
import { confirmationInWords, rejectionInWords } from './lib/reasons.js';

interface Card {
  item: Item;
  root: HTMLElement;
  bar: HTMLElement;
  fill: HTMLElement;
  stockText: HTMLElement;
  clock: HTMLElement;
  button: HTMLButtonElement;
  outcome: HTMLElement;
  buying: boolean;
}

const list = document.querySelector<HTMLUListElement>('#items')!;
const empty = document.querySelector<HTMLElement>('#empty')!;
const connection = document.querySelector<HTMLElement>('#connection')!;
const announcer = document.querySelector<HTMLElement>('#announcer')!;
const template = document.querySelector<HTMLTemplateElement>('#item-card')!;
const cards = new Map<string, Card>();
const pending = new Map<string, Card>();

const announce = (text: string) => {
  announcer.textContent = text;
};

const part = <T extends HTMLElement>(root: ParentNode, selector: string) => root.querySelector<T>(selector)!;

function statusNow(item: Item, now: number): Item['status'] {
  if (item.status === 'scheduled' && saleClock(item.startsAt ? Date.parse(item.startsAt) : null, now).started)
    return 'live';
  return item.status;
}

function render(card: Card, now = Date.now()): void {
  const { item } = card;
  const status = statusNow(item, now);
  const wasSoldOut = card.root.dataset.status === 'sold-out';
  card.root.dataset.status = status;
  const share = item.listed > 0 ? item.available / item.listed : 0;
  card.fill.style.width = `${(share * 100).toFixed(1)}%`;
  card.bar.setAttribute('aria-valuemax', String(item.listed));
  card.bar.setAttribute('aria-valuenow', String(item.available));
  card.bar.setAttribute('aria-valuetext', `${item.available} of ${item.listed} left`);
  card.stockText.textContent =
    status === 'sold-out' ? 'Sold out' : `${item.available} of ${item.listed} left · ${item.sold} sold`;
  const clock = saleClock(item.startsAt ? Date.parse(item.startsAt) : null, now);
  card.clock.textContent = status === 'scheduled' ? `Opens in ${clock.label}` : '';
  card.clock.hidden = status !== 'scheduled';
  card.button.disabled = card.buying || status !== 'live';
  card.button.textContent =
    status === 'sold-out'
      ? 'Sold out'
      : status === 'scheduled'
        ? 'Not open yet'
        : card.buying
          ? 'Buying…'
          : 'Buy now';
  if (status === 'sold-out' && !wasSoldOut) announce(`${item.title} is sold out.`);
}

function cardFor(item: Item): Card {
  const fragment = template.content.cloneNode(true) as DocumentFragment;
  const root = part<HTMLElement>(fragment, '.item');
  const titleId = `title-${item.itemId}`;
  const title = part<HTMLElement>(root, '.item-title');
  title.id = titleId;
  title.textContent = item.title;
  part<HTMLElement>(root, '.item-price').textContent = priceInWords(item.priceMinor, item.currency);
  part<HTMLElement>(root, '.item-limit').textContent = `Limit ${item.perBuyerLimit} per buyer`;
  const bar = part<HTMLElement>(root, '.stock-bar');
  bar.setAttribute('aria-label', `Stock of ${item.title}`);
  const button = part<HTMLButtonElement>(root, '.buy');
  button.setAttribute('aria-describedby', titleId);
  root.dataset.itemId = item.itemId;
  const card: Card = {
    item,
    root,
    bar,
    fill: part(bar, '.stock-fill'),
    stockText: part(root, '.stock-text'),
    clock: part(root, '.countdown'),
    button,
    outcome: part(root, '.outcome'),
    buying: false,
  };
  button.addEventListener('click', () => void buy(card));
  return card;
}

function show(items: Item[]): void {
  for (const item of items) {
    const known = cards.get(item.itemId);
    if (known) {
      if (!newer(known.item, item)) continue;
      known.item = item;
      render(known);
      continue;
    }
    const card = cardFor(item);
    cards.set(item.itemId, card);
    list.append(card.root);
    render(card);
  }
  empty.hidden = cards.size > 0;
}

function settle(card: Card, kind: 'confirmed' | 'rejected' | 'failed', text: string): void {
  card.buying = false;
  card.outcome.dataset.kind = kind;
  card.outcome.textContent = text;
  render(card);
}

async function buy(card: Card): Promise<void> {
  if (card.buying) return;
  card.buying = true;
  card.outcome.dataset.kind = 'pending';
  card.outcome.textContent = 'Pending: your purchase is being decided…';
  render(card);
  const outcome = await buyNow(card.item.itemId);
  switch (outcome.kind) {
    case 'confirmed':
      return settle(card, 'confirmed', confirmationInWords(card.item.title));
    case 'rejected':
      return settle(card, 'rejected', `Rejected. ${rejectionInWords(outcome.reason)}`);
    case 'failed':
      return settle(card, 'failed', outcome.message);
    case 'pending':
      pending.set(outcome.purchaseId, card);
      live.send({ watch: [outcome.purchaseId] });
  }
}

function onFrame(frame: LiveFrame): void {
  if (frame.type === 'stock') show([frame.view as Item]);
  if (frame.type === 'purchase') {
    const purchase = frame.purchase as { purchaseId: string; status: string; reason?: string };
    const card = pending.get(purchase.purchaseId);
    if (!card) return;
    pending.delete(purchase.purchaseId);
    if (purchase.status === 'confirmed') settle(card, 'confirmed', confirmationInWords(card.item.title));
    else settle(card, 'rejected', `Rejected. ${rejectionInWords(purchase.reason)}`);
  }
}

const live = openLiveSocket(
  () => [{ subscribe: ['*'], ...(pending.size > 0 ? { watch: [...pending.keys()] } : {}) }],
  onFrame,
  (connected) => {
    connection.textContent = connected ? 'Live' : 'Reconnecting…';
    connection.dataset.state = connected ? 'live' : 'down';
  },
);

fetchItems().then(show, () => {
  empty.textContent = 'The shop cannot be reached right now; retrying over the live connection…';
});
// Countdowns tick, and a sale opens on time even without a new view.
setInterval(() => {
  const now = Date.now();
  for (const card of cards.values()) {
    const before = card.root.dataset.status;
    render(card, now);
    if (before === 'scheduled' && card.root.dataset.status === 'live')
      announce(`${card.item.title} is on sale now.`);
  }
}, 250);
