// Percentiles and number formatting shared by the scenarios.

/** Sorted copy of the samples (any array-like of numbers). */
export function sorted(samples) {
  return Float64Array.from(samples).sort();
}

/** Nearest-rank percentile of an ascending array; null when empty. */
export function percentile(ascending, p) {
  if (ascending.length === 0) return null;
  const rank = Math.ceil((p / 100) * ascending.length);
  return ascending[Math.min(ascending.length - 1, Math.max(0, rank - 1))];
}

/** { count, p50, p99, p999, max } in the unit of the samples, rounded to 0.01. */
export function summary(samples) {
  const s = sorted(samples);
  const round = (v) => (v === null ? null : Math.round(v * 100) / 100);
  return {
    count: s.length,
    p50: round(percentile(s, 50)),
    p99: round(percentile(s, 99)),
    p999: round(percentile(s, 99.9)),
    max: round(s.length ? s[s.length - 1] : null),
  };
}

export const round = (value, digits = 0) =>
  value === null || value === undefined || !Number.isFinite(value)
    ? null
    : Math.round(value * 10 ** digits) / 10 ** digits;

export const formatInt = (n) => (n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en-US'));

export const formatMs = (n) =>
  n === null || n === undefined ? '–' : n >= 100 ? `${Math.round(n)} ms` : `${n.toFixed(1)} ms`;

export const ratio = (a, b) => (b > 0 && Number.isFinite(a) ? Math.round((a / b) * 1000) / 1000 : null);
