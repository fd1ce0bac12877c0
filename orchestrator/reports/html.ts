// A soak's timeline as one self-contained HTML page (inline SVG, no script,
// nothing fetched): for each target, blackout per iteration and the other
// figures a soak watcher reads (agent RSS for leaks, verify speed, MSI
// latency, DMA moved), failed iterations marked, p50/p95 drawn across, and
// the failures listed.

import type { IterationMetrics, IterationOutcome, StepOutcome } from '../run/outcome.js';
import { distribution } from '../run/stats.js';

const W = 960;
const PAD = { left: 64, right: 16, top: 16, bottom: 36 };

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** One per-iteration figure a soak watcher reads: how it is scaled, labelled and how tall its chart is. */
interface Figure {
  key: keyof IterationMetrics;
  what: string;
  unit: string;
  /** From the metric's own unit (ms, bytes) to the axis's. */
  scale: (v: number) => number;
  height: number;
  /** A part of the figure, drawn dashed under it. */
  part?: { key: keyof IterationMetrics; legend: string };
}

const MiB = 2 ** 20;
const FIGURES: Figure[] = [
  {
    key: 'blackoutMs',
    what: 'blackout',
    unit: 's',
    scale: (ms) => ms / 1000,
    height: 260,
    part: { key: 'kernelBlackoutMs', legend: "dashed: the kernel's part, exec to init" },
  },
  { key: 'agentRssBytes', what: 'agent RSS (a leak climbs)', unit: 'MiB', scale: (b) => b / MiB, height: 150 },
  { key: 'verifyGBps', what: 'verify speed', unit: 'GB/s', scale: (v) => v, height: 150 },
  { key: 'msiLatencyMs', what: 'MSI latency', unit: 'µs', scale: (ms) => ms * 1000, height: 150 },
  { key: 'dmaBytes', what: 'DMA moved', unit: 'MiB', scale: (b) => b / MiB, height: 150 },
];

/** A figure with few significant digits, as an axis or a guide shows it. */
const short = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** One figure over the iterations of one target: its line, p50/p95 guides, a mark per iteration (failures red). */
function chart(target: string, f: Figure, iterations: IterationOutcome[], failures: Map<number, string>): string {
  const H = f.height;
  const n = Math.max(1, ...iterations.map((i) => i.iteration));
  const value = (i: IterationOutcome, key: keyof IterationMetrics) =>
    i.metrics[key] !== undefined ? f.scale(i.metrics[key]) : undefined;
  const values = iterations.map((i) => value(i, f.key)).filter((v): v is number => v !== undefined);
  const top = Math.max(f.key === 'blackoutMs' ? 1 : Number.MIN_VALUE, ...values) * 1.1;
  const x = (it: number) => PAD.left + ((it - 0.5) / n) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  const series = (key: keyof IterationMetrics) =>
    iterations.flatMap((i) => {
      const v = value(i, key);
      return v === undefined ? [] : [`${x(i.iteration).toFixed(1)},${y(v).toFixed(1)}`];
    });
  const points = series(f.key);
  const partPoints = f.part ? series(f.part.key) : [];
  const d = distribution(values);
  const guides = d
    ? (
        [
          // p50 labelled at the left, p95 at the right: close values do not print over each other.
          ['p50', d.p50, '#2a7', PAD.left + 4, 'start'],
          ['p95', d.p95, '#d80', W - PAD.right - 4, 'end'],
        ] as const
      )
        .map(
          ([label, v, color, at, anchor]) =>
            `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}" stroke="${color}" stroke-dasharray="4 3"/><text x="${at}" y="${y(v) - 4}" text-anchor="${anchor}" fill="${color}" font-size="11">${label} ${short(v)} ${f.unit}</text>`,
        )
        .join('')
    : '';
  const marks = iterations
    .map((i) => {
      const failed = i.verdict === 'fail';
      const v = value(i, f.key);
      const m = i.metrics;
      const split =
        f.part && m.kernelBlackoutMs !== undefined
          ? ` (kernel ${m.kernelBlackoutMs} ms, user space ${m.userspaceMs} ms)`
          : '';
      const title = `iteration ${i.iteration}: ${i.verdict}${v !== undefined ? `, ${f.what} ${short(v)} ${f.unit}${split}` : ''}${failed && failures.get(i.iteration) ? ` — ${failures.get(i.iteration)}` : ''}`;
      return `<circle class="${failed ? 'fail' : i.verdict}" cx="${x(i.iteration).toFixed(1)}" cy="${(v !== undefined ? y(v) : H - PAD.bottom).toFixed(1)}" r="${failed ? 5 : n > 200 ? 1.5 : 3}"><title>${esc(title)}</title></circle>`;
    })
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (q) =>
        `<text x="${PAD.left - 6}" y="${y(top * q) + 4}" text-anchor="end" font-size="11">${short(top * q)} ${f.unit}</text>`,
    )
    .join('');
  const xTicks = [1, Math.ceil(n / 2), n]
    .map((it) => `<text x="${x(it)}" y="${H - PAD.bottom + 16}" text-anchor="middle" font-size="11">${it}</text>`)
    .join('');
  const legend = partPoints.length ? `; ${f.part!.legend}` : '';
  return `<figure><figcaption>${esc(target)}: ${esc(f.what)} per iteration (${iterations.length} iterations, ${failures.size} failed${legend})</figcaption>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(f.what)} per iteration for ${esc(target)}">
<rect x="${PAD.left}" y="${PAD.top}" width="${W - PAD.left - PAD.right}" height="${H - PAD.top - PAD.bottom}" fill="#fafafa" stroke="#ccc"/>
${ticks}${xTicks}<text x="${(W + PAD.left) / 2}" y="${H - 4}" text-anchor="middle" font-size="11">iteration</text>
${guides}<polyline class="${f.key}" fill="none" stroke="#36c" stroke-width="1.5" points="${points.join(' ')}"/>${partPoints.length ? `<polyline class="${f.part!.key}" fill="none" stroke="#36c" stroke-width="1" stroke-dasharray="2 2" points="${partPoints.join(' ')}"/>` : ''}${marks}
</svg></figure>`;
}

/** The figures a target's iterations recorded, one chart each; the blackout chart even without a reboot. */
function charts(target: string, iterations: IterationOutcome[], failures: Map<number, string>): string {
  return FIGURES.filter((f) => f.key === 'blackoutMs' || iterations.some((i) => i.metrics[f.key] !== undefined))
    .map((f) => chart(target, f, iterations, failures))
    .join('\n');
}

export function htmlTimeline(
  scenario: string,
  iterations: IterationOutcome[],
  steps: StepOutcome[],
  seed?: number,
): string {
  const targets = [...new Set(iterations.map((i) => i.target))];
  const failedSteps = steps.filter((s) => s.verdict === 'fail');
  const sections = targets.map((t) => {
    const reasons = new Map<number, string>();
    for (const s of failedSteps.filter((f) => f.target === t))
      if (!reasons.has(s.iteration)) reasons.set(s.iteration, `${s.label}: ${s.reason}`);
    return charts(
      t,
      iterations.filter((i) => i.target === t),
      reasons,
    );
  });
  const rows = failedSteps
    .map(
      (s) =>
        `<tr><td>${esc(s.target)}</td><td>${s.iteration}</td><td>${esc(`${s.step} ${s.label}`)}</td><td>${esc(s.reason)}${s.excerpt?.length ? `<details><summary>console</summary><pre>${esc(s.excerpt.join('\n'))}</pre></details>` : ''}</td></tr>`,
    )
    .join('\n');
  const passed = iterations.filter((i) => i.verdict === 'pass').length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lustress: ${esc(scenario)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
figure { margin: 0 0 24px; } figcaption { font-weight: 600; margin-bottom: 4px; }
circle.pass { fill: #36c; } circle.skip { fill: #999; } circle.fail { fill: #d22; stroke: #700; }
table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: 4px 8px; vertical-align: top; text-align: left; }
pre { font-size: 12px; max-height: 300px; overflow: auto; }
</style></head>
<body>
<h1>${esc(scenario)}</h1>
<p id="totals">${iterations.length} iterations: ${passed} passed, ${iterations.length - passed} did not.${seed !== undefined ? ` Seed ${seed}.` : ''}</p>
${sections.join('\n')}
<h2>Failures</h2>
${rows ? `<table><tr><th>target</th><th>iteration</th><th>step</th><th>why</th></tr>\n${rows}\n</table>` : '<p>None.</p>'}
</body></html>
`;
}
