// A failure rate with its uncertainty: the Wilson score interval.
//
// Why Wilson and not the textbook Wald interval (p ± z·√(p(1-p)/n)): step
// failures are rare, so p sits near 0 and often x is 0 or 1. There Wald
// collapses (x = 0 gives [0, 0], "never fails", from 30 tries as from 30 000)
// and its lower bound goes negative; its coverage falls far below 95%.
// Wilson's interval inverts the score test instead: it stays inside [0, 1],
// has close to nominal coverage for small n and p near 0, and its width
// shrinks with n, so "1 in 30" and "1 in 3000" read differently even when
// both saw a single failure.

/** z for a two-sided 95% interval. */
const Z95 = 1.959963984540054;

export interface RateInterval {
  /** Failures over tries. */
  rate: number;
  low: number;
  high: number;
}

/** The Wilson score interval of x successes in n tries (undefined for no tries). */
export function wilson(x: number, n: number, z = Z95): RateInterval | undefined {
  if (n <= 0) return undefined;
  const p = x / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At x = 0 (or x = n) the bound is exactly 0 (or 1); rounding must not make it -1e-17.
  return {
    rate: p,
    low: x === 0 ? 0 : Math.max(0, centre - half),
    high: x === n ? 1 : Math.min(1, centre + half),
  };
}
