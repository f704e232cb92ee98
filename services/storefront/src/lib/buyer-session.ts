// Who this browser buys as. With the gateway in demo mode, POST /dev/buyer-tokens gives a buyer id and a
// signed token (kept in localStorage until shortly before it expires). Outside demo mode the token comes
// from the shop's own sign-in, which this demo storefront does not have: buying then says so.
// This is the only module that knows how a buyer is identified.

export interface BuyerSession {
  buyerId: string;
  /** Authorization header value. */
  authorization: string;
}

interface StoredToken {
  buyerId: string;
  token: string;
  expiresAt: string;
}

const TOKEN_KEY = 'buy-now.buyer-token';
const BUYER_KEY = 'buy-now.buyer-id';

function storedToken(now: number): StoredToken | undefined {
  try {
    const stored = JSON.parse(localStorage.getItem(TOKEN_KEY) ?? 'null') as StoredToken | null;
    if (stored && Date.parse(stored.expiresAt) - now > 60_000) return stored;
  } catch {
    // unreadable: ask for a new one
  }
  return undefined;
}

let current: Promise<BuyerSession> | undefined;

export function buyerSession(): Promise<BuyerSession> {
  return (current ??= open().catch((error: unknown) => {
    current = undefined;
    throw error;
  }));
}

/** Forgets the token (say, after a 401), so the next purchase asks for a new one. */
export function renewBuyerSession(): void {
  localStorage.removeItem(TOKEN_KEY);
  current = undefined;
}

async function open(): Promise<BuyerSession> {
  const stored = storedToken(Date.now());
  if (stored) return { buyerId: stored.buyerId, authorization: `Bearer ${stored.token}` };
  const known = localStorage.getItem(BUYER_KEY) ?? undefined;
  const response = await fetch('/dev/buyer-tokens', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(known ? { buyerId: known } : {}),
  });
  if (response.status === 201) {
    const issued = (await response.json()) as StoredToken;
    localStorage.setItem(TOKEN_KEY, JSON.stringify(issued));
    localStorage.setItem(BUYER_KEY, issued.buyerId);
    return { buyerId: issued.buyerId, authorization: `Bearer ${issued.token}` };
  }
  if (response.status === 404) {
    throw new Error(
      'buying needs a signed-in buyer: this gateway hands out demo buyer tokens only in demo mode',
    );
  }
  throw new Error(`buyer token refused (${response.status})`);
}
