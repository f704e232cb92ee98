// Purchase outcomes and refusals in words a buyer understands, with what to do next.

const REJECTIONS: Record<string, string> = {
  SOLD_OUT: 'Sold out: every unit is gone.',
  LIMIT_EXCEEDED: 'You already have as many as one buyer may buy.',
  NOT_STARTED: 'The sale has not started yet: try again when the countdown ends.',
  UNKNOWN_ITEM: 'This item is no longer on sale.',
  INVALID_QUANTITY: 'That quantity cannot be bought.',
  DUPLICATE_REQUEST: 'This request was already made once: nothing more was bought, its first answer stands.',
  NOT_ACCEPTED: 'The request was not accepted: nothing was bought, try again.',
};

/** A rejection reason (SOLD_OUT, …) as a sentence. */
export function rejectionInWords(reason: string | undefined): string {
  return (reason !== undefined && REJECTIONS[reason]) || 'Not bought: the purchase was rejected.';
}

/** An error answer ({error:{code,message}}) as a sentence; `retryAfter` in seconds when given. */
export function errorInWords(status: number, code: string | undefined, retryAfter?: number): string {
  const wait = retryAfter !== undefined && retryAfter > 0 ? ` in ${retryAfter} s` : ' in a moment';
  if (status === 429 || code === 'RATE_LIMITED') return `Too many requests: try again${wait}.`;
  if (status === 503) return `The shop is busy: nothing was bought, try again${wait}.`;
  if (status === 401 || status === 403) return 'Your session expired: reload the page and try again.';
  if (status === 404) return 'This item is no longer on sale.';
  if (status >= 500) return 'Something went wrong on our side: nothing was bought, try again.';
  return `The request was refused (${code ?? status}): reload the page and try again.`;
}

export function confirmationInWords(title: string): string {
  return `Confirmed: ${title} is yours.`;
}
