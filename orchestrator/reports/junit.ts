// JUnit XML for CI dashboards: one testsuite per target, one testcase per
// step per iteration, the reason and the console excerpt on a failure.

import type { StepOutcome } from '../run/outcome.js';

function xml(text: string): string {
  return text
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

export function junitReport(scenario: string, steps: StepOutcome[]): string {
  const targets = [...new Set(steps.map((s) => s.target))];
  const suites = targets.map((target) => {
    const mine = steps.filter((s) => s.target === target);
    const cases = mine.map((s) => {
      const name = `${s.iteration}.${s.step} ${s.label}`;
      const open = `    <testcase classname="${xml(`${scenario}.${target}.iteration-${s.iteration}`)}" name="${xml(name)}" time="${(s.ms / 1000).toFixed(3)}"`;
      if (s.verdict === 'pass') return `${open}/>`;
      if (s.verdict === 'skip') return `${open}>\n      <skipped message="${xml(s.reason)}"/>\n    </testcase>`;
      const body = [s.reason, ...(s.excerpt?.length ? ['', 'console:', ...s.excerpt] : [])].join('\n');
      return `${open}>\n      <failure message="${xml(s.reason)}">${xml(body)}</failure>\n    </testcase>`;
    });
    const count = (v: StepOutcome['verdict']) => mine.filter((s) => s.verdict === v).length;
    const seconds = mine.reduce((a, s) => a + s.ms, 0) / 1000;
    return `  <testsuite name="${xml(`${scenario}.${target}`)}" tests="${mine.length}" failures="${count('fail')}" skipped="${count('skip')}" errors="0" time="${seconds.toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${xml(scenario)}">\n${suites.join('\n')}\n</testsuites>\n`;
}
