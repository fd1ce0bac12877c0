// The Mann–Whitney U test (Wilcoxon rank-sum): are the values of one sample
// systematically larger than the other's? It compares ranks, not means, so
// it needs no normality and a single 60 s blackout among 9 s ones moves it no
// more than any other largest value: right for small, skewed samples of
// latencies. Two-sided; the exact distribution of U for small samples
// without ties, otherwise the normal approximation with the tie correction of
// the variance and a continuity correction (as SciPy's mannwhitneyu,
// method 'exact' and 'asymptotic' with use_continuity).

import { normalUpperTail } from './special.js';

/** The largest sample (either side) for which U's exact distribution is used. */
const EXACT_MAX_N = 20;

export interface MannWhitney {
  /** U of the first sample: how many (x, y) pairs have x > y, ties counting a half. */
  u: number;
  /** Two-sided p-value. */
  p: number;
  exact: boolean;
}

/** The test of x against y; undefined when either is empty. */
export function mannWhitney(x: readonly number[], y: readonly number[]): MannWhitney | undefined {
  const n1 = x.length;
  const n2 = y.length;
  if (!n1 || !n2) return undefined;
  const { rankSum, tieTerm } = ranks(Float64Array.from(x).sort(), Float64Array.from(y).sort());
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  if (n1 <= EXACT_MAX_N && n2 <= EXACT_MAX_N && tieTerm === 0) {
    const cdf = exactCdf(n1, n2);
    return { u, p: Math.min(1, 2 * Math.min(cdf[u]!, cdf[n1 * n2 - u]!)), exact: true };
  }
  const n = n1 + n2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return { u, p: 1, exact: false };
  const z = (Math.abs(u - (n1 * n2) / 2) - 0.5) / Math.sqrt(variance);
  return { u, p: Math.min(1, 2 * normalUpperTail(Math.max(0, z))), exact: false };
}

/** The first sample's rank sum (ties get their mid-rank) and Σ(t³ - t) over tie groups, merging the sorted samples. */
function ranks(x: Float64Array, y: Float64Array): { rankSum: number; tieTerm: number } {
  let i = 0;
  let j = 0;
  let below = 0;
  let rankSum = 0;
  let tieTerm = 0;
  while (i < x.length || j < y.length) {
    const v = Math.min(i < x.length ? x[i]! : Infinity, j < y.length ? y[j]! : Infinity);
    let inX = 0;
    let inY = 0;
    while (i + inX < x.length && x[i + inX] === v) inX++;
    while (j + inY < y.length && y[j + inY] === v) inY++;
    i += inX;
    j += inY;
    const t = inX + inY;
    rankSum += inX * (below + (t + 1) / 2);
    tieTerm += t * t * t - t;
    below += t;
  }
  return { rankSum, tieTerm };
}

/**
 * P(U ≤ u) for u = 0 … m·n under the null hypothesis. The counts of U are the coefficients of the Gaussian binomial
 * coefficient [m+n choose m]_q = ∏_{i=1..m} (1 - q^(n+i)) / (1 - q^i), built factor by factor: every intermediate
 * coefficient is an integer below C(40, 20) ≈ 1.4e11, exact in a double.
 */
function exactCdf(m: number, n: number): number[] {
  const top = m * n;
  const c = new Array<number>(top + 1).fill(0);
  c[0] = 1;
  for (let i = 1; i <= m; i++) {
    for (let k = top; k >= n + i; k--) c[k]! -= c[k - n - i]!;
    for (let k = i; k <= top; k++) c[k]! += c[k - i]!;
  }
  const total = c.reduce((a, b) => a + b, 0);
  let running = 0;
  return c.map((count) => (running += count) / total);
}
