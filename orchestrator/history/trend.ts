// The history as one self-contained HTML page (inline SVG, no script,
// nothing fetched): per target, the trend of each figure over the runs, a
// point at each run's p50 on a p50 line, the band up to its p95, runs with
// failures in red; then each step kind's flakiness and the runs that failed.

import { esc } from '../reports/html.js';
import type { MetricKey } from './digest.js';
import type { History, HistoryRow } from './history.js';
import { figure, rate } from './text.js';

/** The figures plotted, with their captions. */
const TREND_FIGURES: [MetricKey, string][] = [
  ['blackoutMs', 'blackout'],
  ['verifyGBps', 'verify throughput'],
  ['dmaBytes', 'DMA bytes'],
  ['msiLatencyMs', 'MSI latency'],
];

const W = 960;
const H = 220;
const PAD = { left: 72, right: 16, top: 16, bottom: 36 };

/** Failed steps of a row, all kinds together. */
const failuresOf = (r: HistoryRow) => Object.values(r.failures).reduce((a, b) => a + b, 0);

/** The day and minute a run started, for axis labels and tooltips. */
const when = (r: HistoryRow) => r.date.slice(0, 16).replace('T', ' ');

/** One figure of one target's rows over the runs (undefined when no run measured it). */
function chart(target: string, metric: MetricKey, caption: string, rows: HistoryRow[]): string | undefined {
  const at = rows.map((r, i) => ({ r, i, d: r.metrics[metric] })).filter((p) => p.d);
  if (!at.length) return undefined;
  const top = Math.max(...at.map((p) => p.d!.p95)) * 1.1 || 1;
  const x = (i: number) => PAD.left + ((i + 0.5) / rows.length) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (Math.max(0, v) / top) * (H - PAD.top - PAD.bottom);
  const xy = (i: number, v: number) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`;
  const p50 = at.map((p) => xy(p.i, p.d!.p50));
  const band = [...at.map((p) => xy(p.i, p.d!.p95)), ...[...p50].reverse()];
  const failed = at.filter((p) => failuresOf(p.r) > 0).length;
  const marks = at
    .map(({ r, i, d }) => {
      const fails = failuresOf(r);
      const title = `${when(r)} ${r.runDir}${r.finished ? '' : ' (unfinished)'}: p50 ${figure(metric, d!.p50)}, p95 ${figure(metric, d!.p95)}, max ${figure(metric, d!.max)} over ${d!.n}; ${fails} failed step(s)`;
      return `<circle class="${fails ? 'fail' : 'pass'}" cx="${x(i).toFixed(1)}" cy="${y(d!.p50).toFixed(1)}" r="${fails ? 4.5 : 2.5}"><title>${esc(title)}</title></circle>`;
    })
    .join('');
  const yTicks = [0, 0.5, 1]
    .map(
      (f) =>
        `<text x="${PAD.left - 6}" y="${y(top * f) + 4}" text-anchor="end" font-size="11">${esc(figure(metric, top * f))}</text>`,
    )
    .join('');
  const xTicks = [...new Set([0, Math.floor((rows.length - 1) / 2), rows.length - 1])]
    .map(
      (i) =>
        `<text x="${x(i)}" y="${H - PAD.bottom + 16}" text-anchor="middle" font-size="11">${esc(when(rows[i]!))}</text>`,
    )
    .join('');
  return `<figure><figcaption>${esc(target)}: ${esc(caption)} per run, p50 and the band up to p95 (${at.length} runs, ${failed} with failures)</figcaption>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(`${caption} per run for ${target}`)}">
<rect x="${PAD.left}" y="${PAD.top}" width="${W - PAD.left - PAD.right}" height="${H - PAD.top - PAD.bottom}" fill="#fafafa" stroke="#ccc"/>
${yTicks}${xTicks}
<polygon class="band" fill="#bcd3f0" stroke="none" points="${band.join(' ')}"/>
<polyline class="p50" fill="none" stroke="#36c" stroke-width="1.5" points="${p50.join(' ')}"/>${marks}
</svg></figure>`;
}

/** The whole page. */
export function htmlTrend(history: History): string {
  const targets = [...new Set(history.rows.map((r) => r.target))];
  const sections = targets.flatMap((t) => {
    const rows = history.rows.filter((r) => r.target === t);
    return TREND_FIGURES.map(([metric, caption]) => chart(t, metric, caption, rows)).filter((c) => c !== undefined);
  });
  const flaky = history.flakiness
    .map(
      (f) =>
        `<tr><td>${esc(f.kind)}</td><td>${f.failures}</td><td>${f.steps}</td><td>${esc(rate(f.failures, f.steps, f))}</td></tr>`,
    )
    .join('\n');
  const failing = history.rows
    .filter((r) => failuresOf(r) > 0)
    .map(
      (r) =>
        `<tr><td>${esc(when(r))}</td><td>${esc(r.runDir)}</td><td>${esc(r.target)}</td><td>${esc(
          Object.entries(r.failures)
            .filter(([, n]) => n)
            .map(([k, n]) => `${k} ${n}`)
            .join(', '),
        )}</td></tr>`,
    )
    .join('\n');
  const first = history.rows[0];
  const last = history.rows[history.rows.length - 1];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lustress history</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
figure { margin: 0 0 24px; } figcaption { font-weight: 600; margin-bottom: 4px; }
circle.pass { fill: #36c; } circle.fail { fill: #d22; stroke: #700; }
table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: 4px 8px; vertical-align: top; text-align: left; }
</style></head>
<body>
<h1>lustress history</h1>
<p id="totals">${history.rows.length} run(s) and target(s)${first && last ? `, ${esc(when(first))} to ${esc(when(last))}` : ''}.</p>
${sections.join('\n')}
<h2>Flakiness by step kind</h2>
${flaky ? `<table><tr><th>step kind</th><th>failures</th><th>steps</th><th>rate (Wilson 95% interval)</th></tr>\n${flaky}\n</table>` : '<p>No steps.</p>'}
<h2>Runs with failures</h2>
${failing ? `<table><tr><th>started</th><th>run</th><th>target</th><th>failed steps</th></tr>\n${failing}\n</table>` : '<p>None.</p>'}
</body></html>
`;
}
