// Did failures become more frequent? Fisher's exact test on the 2×2 table
// (failed, passed) × (base, new), one-sided: the chance, were both sides
// equally flaky, of NEW getting at least as many of all the failures as it
// did. Exact rather than the two-proportion z-test because failures are rare:
// a handful of failures among thousands of steps is exactly where the
// z-test's normal approximation (which wants several expected failures per
// side) misleads.

import { logChoose } from './special.js';

/** One-sided p-value that NEW's failure rate (newFailures of newSteps) exceeds BASE's. */
export function fisherGreater(baseFailures: number, baseSteps: number, newFailures: number, newSteps: number): number {
  const total = baseSteps + newSteps;
  const failures = baseFailures + newFailures;
  const denominator = logChoose(total, newSteps);
  // The hypergeometric upper tail, from the observed count to the most NEW could have had.
  let p = 0;
  for (let k = newFailures; k <= Math.min(failures, newSteps); k++) {
    p += Math.exp(logChoose(failures, k) + logChoose(total - failures, newSteps - k) - denominator);
  }
  return Math.min(1, p);
}
