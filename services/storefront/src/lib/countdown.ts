// The time left until a sale starts, as a clock a person reads at a glance.

export interface SaleClock {
  started: boolean;
  /** e.g. "0:09", "12:05", "2 h 03 min"; empty once started. */
  label: string;
  /** Whole seconds left (0 once started). */
  secondsLeft: number;
}

export function saleClock(startsAt: number | null, now: number): SaleClock {
  if (startsAt === null || startsAt <= now) return { started: true, label: '', secondsLeft: 0 };
  const secondsLeft = Math.ceil((startsAt - now) / 1000);
  const hours = Math.floor(secondsLeft / 3600);
  const minutes = Math.floor((secondsLeft % 3600) / 60);
  const seconds = secondsLeft % 60;
  const label =
    hours > 0
      ? `${hours} h ${String(minutes).padStart(2, '0')} min`
      : `${minutes}:${String(seconds).padStart(2, '0')}`;
  return { started: false, label, secondsLeft };
}

/** A duration in ms as "850 ms", "12.4 s", "3 min 05 s". */
export function durationInWords(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const total = Math.round(ms / 1000);
  return `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, '0')} s`;
}

/** Money in minor units as the buyer's locale writes it. */
export function priceInWords(priceMinor: number, currency: string, locale?: string): string {
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(priceMinor / 100);
  } catch {
    return `${(priceMinor / 100).toFixed(2)} ${currency}`;
  }
}
