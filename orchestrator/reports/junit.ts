// JUnit XML for CI dashboards: one testsuite per target, one testcase per
// step per iteration, the reason and the console excerpt on a failure.
// Written suite by suite, case by case, so a soak of any length streams.

import type { StepOutcome } from '../run/outcome.js';

/** Text for an XML attribute or element: markup escaped, line breaks kept as references (no forged lines). */
function xml(text: string): string {
  return text
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\r/g, '&#13;')
    .replace(/\n/g, '&#10;');
}

export interface SuiteCounts {
  tests: number;
  failures: number;
  skipped: number;
  ms: number;
}

export function countsOf(steps: StepOutcome[]): SuiteCounts {
  const counts = { tests: 0, failures: 0, skipped: 0, ms: 0 };
  for (const s of steps) addToCounts(counts, s);
  return counts;
}

export function addToCounts(c: SuiteCounts, s: StepOutcome): void {
  c.tests++;
  if (s.verdict === 'fail') c.failures++;
  if (s.verdict === 'skip') c.skipped++;
  c.ms += s.ms;
}

export const junitOpen = (scenario: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${xml(scenario)}">\n`;
export const junitClose = () => '</testsuites>\n';

export function suiteOpen(scenario: string, target: string, c: SuiteCounts): string {
  return `  <testsuite name="${xml(`${scenario}.${target}`)}" tests="${c.tests}" failures="${c.failures}" skipped="${c.skipped}" errors="0" time="${(c.ms / 1000).toFixed(3)}">\n`;
}
export const suiteClose = () => '  </testsuite>\n';

/** A reboot's blackout and its breakdown as testcase properties (as pytest's record_property writes them). */
function properties(s: StepOutcome): string {
  const d = s.detail as { blackoutMs?: unknown; breakdown?: Record<string, unknown> } | undefined;
  const figures = Object.entries({ blackoutMs: d?.blackoutMs, ...(d?.breakdown ?? {}) }).filter(
    (e): e is [string, number] => typeof e[1] === 'number',
  );
  if (!figures.length) return '';
  const items = figures.map(([k, v]) => `        <property name="${xml(k)}" value="${v}"/>\n`).join('');
  return `      <properties>\n${items}      </properties>\n`;
}

export function testcase(scenario: string, s: StepOutcome): string {
  const name = `${s.iteration}.${s.step} ${s.label}`;
  const open = `    <testcase classname="${xml(`${scenario}.${s.target}.iteration-${s.iteration}`)}" name="${xml(name)}" time="${(s.ms / 1000).toFixed(3)}"`;
  const props = properties(s);
  if (s.verdict === 'pass') return props ? `${open}>\n${props}    </testcase>\n` : `${open}/>\n`;
  if (s.verdict === 'skip') return `${open}>\n${props}      <skipped message="${xml(s.reason)}"/>\n    </testcase>\n`;
  const body = [s.reason, ...(s.excerpt?.length ? ['', 'console:', ...s.excerpt] : [])].map(xml).join('\n');
  return `${open}>\n${props}      <failure message="${xml(s.reason)}">${body}</failure>\n    </testcase>\n`;
}

/** The whole report from steps in memory (small runs, tests). */
export function junitReport(scenario: string, steps: StepOutcome[]): string {
  const targets = [...new Set(steps.map((s) => s.target))];
  let out = junitOpen(scenario);
  for (const target of targets) {
    const mine = steps.filter((s) => s.target === target);
    out += suiteOpen(scenario, target, countsOf(mine)) + mine.map((s) => testcase(scenario, s)).join('') + suiteClose();
  }
  return out + junitClose();
}
