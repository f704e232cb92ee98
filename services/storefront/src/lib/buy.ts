// One purchase from the browser: POST /items/:id/buy-now with a fresh Idempotency-Key and `Prefer:
// wait=10`. The answer is final (201 confirmed, 409 rejected, an error) or pending (202: the outcome
// follows over the WebSocket).
import { buyerSession, renewBuyerSession } from './buyer-session.js';
import { errorInWords } from './reasons.js';

export type BuyOutcome =
  | { kind: 'confirmed'; purchaseId: string }
  | { kind: 'rejected'; reason: string }
  | { kind: 'pending'; purchaseId: string }
  | { kind: 'failed'; message: string };

function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

interface Answer {
  purchaseId?: string;
  status?: string;
  reason?: string;
  error?: { code: string; message: string };
}

export async function buyNow(itemId: string, renewed = false): Promise<BuyOutcome> {
  let session;
  try {
    session = await buyerSession();
  } catch {
    return { kind: 'failed', message: errorInWords(503, undefined) };
  }
  let response: Response;
  try {
    response = await fetch(`/items/${encodeURIComponent(itemId)}/buy-now`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': idempotencyKey(),
        prefer: 'wait=10',
        authorization: session.authorization,
      },
      body: JSON.stringify({ buyerId: session.buyerId }),
    });
  } catch {
    return { kind: 'failed', message: 'No connection to the shop: check your network and try again.' };
  }
  const answer = (await response.json().catch(() => ({}))) as Answer;
  if (response.status === 401 && !renewed) {
    renewBuyerSession();
    return buyNow(itemId, true);
  }
  if (response.status === 201 && answer.purchaseId)
    return { kind: 'confirmed', purchaseId: answer.purchaseId };
  if (response.status === 202 && answer.purchaseId) return { kind: 'pending', purchaseId: answer.purchaseId };
  if (response.status === 409 && answer.status === 'rejected') {
    return { kind: 'rejected', reason: answer.reason ?? 'REJECTED' };
  }
  const retryAfter = Number(response.headers.get('retry-after') ?? '') || undefined;
  return { kind: 'failed', message: errorInWords(response.status, answer.error?.code, retryAfter) };
}
