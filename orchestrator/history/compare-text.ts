// A comparison as text: what `lustress compare` prints and what `run
// --baseline` puts in its KTAP report as "# compare:" lines.

import type { Comparison } from './compare.js';
import { figure, percent, table } from './text.js';

/** A relative change with its sign: +30.1%, -2.0%, +inf%. */
function signed(change: number): string {
  if (!Number.isFinite(change)) return change > 0 ? '+inf%' : '-inf%';
  return `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`;
}

/** A p-value to two significant digits. */
const pValue = (p: number) => (p < 0.001 ? p.toExponential(1) : p.toPrecision(2));

/** A side of the comparison by its runs: the one run's directory, or how many. */
const sideOf = (runs: string[]) => (runs.length === 1 ? runs[0]! : `${runs.length} runs`);

/** The comparison as lines: settings, the metric table, failures, the verdict last. */
export function compareText(c: Comparison): string[] {
  const lines = [
    `base ${sideOf(c.base)}, new ${sideOf(c.new)}; a regression is p < ${c.alpha} (Mann-Whitney, two-sided) and a change past ${c.thresholdPct}% the bad way`,
  ];
  lines.push(
    ...table(
      ['target', 'metric', 'base p50', 'new p50', 'change', 'p', 'n base/new', 'verdict'],
      c.metrics.map((m) => [
        m.target,
        m.metric + (m.worse === 'none' ? '' : m.worse === 'up' ? ' (lower is better)' : ' (higher is better)'),
        figure(m.metric, m.base.median),
        figure(m.metric, m.new.median),
        signed(m.change),
        pValue(m.p) + (m.exact ? ' exact' : ''),
        `${m.base.n}/${m.new.n}`,
        m.verdict === 'same' ? '' : m.verdict.toUpperCase(),
      ]),
    )
      .trimEnd()
      .split('\n'),
  );
  for (const f of c.failures) {
    const seen = `${f.new.failures}/${f.new.steps} failed (base ${f.base.failures}/${f.base.steps}, ${percent(f.base.steps ? f.base.failures / f.base.steps : 0)} → ${percent(f.new.failures / f.new.steps)})`;
    const fresh = f.newLabels.length ? `; never failed in base: ${f.newLabels.join(', ')}` : '';
    lines.push(
      `${f.target} ${f.kind}: ${seen}, Fisher one-sided p ${pValue(f.p)}${fresh}${f.verdict === 'regressed' ? ' REGRESSED' : ''}`,
    );
  }
  if (c.unmatched.length) lines.push(`not compared (on one side only): ${c.unmatched.join(', ')}`);
  const found = [...c.metrics, ...c.failures].filter((x) => x.verdict === 'regressed').length;
  lines.push(c.regressed ? `verdict: REGRESSION (${found} finding(s))` : 'verdict: no regression');
  return lines;
}
