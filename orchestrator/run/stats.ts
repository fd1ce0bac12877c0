// Numbers for soak summaries: a seeded random stream (so --seed replays a
// run's timing) and percentiles.

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed of its own per target, derived from the run's, so targets differ but replay alike. */
export function targetSeed(runSeed: number, target: string): number {
  let h = runSeed >>> 0;
  for (const c of Buffer.from(target)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h;
}

export interface Distribution {
  n: number;
  p50: number;
  p95: number;
  max: number;
}

/** Nearest-rank percentiles; undefined for no values. */
export function distribution(values: number[]): Distribution | undefined {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return { n: sorted.length, p50: rank(50), p95: rank(95), max: sorted[sorted.length - 1]! };
}
