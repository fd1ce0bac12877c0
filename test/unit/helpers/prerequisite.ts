// A unit test whose tool or tree is missing: a failure in CI, where
// everything must be installed, and a skip that says why elsewhere.

import type { Test } from 'tap';

export const IN_CI = process.env.CI === 'true';

export function prerequisiteMissing(t: Test, why: string): void {
  if (IN_CI) t.fail(why);
  else t.plan(0, why);
}
