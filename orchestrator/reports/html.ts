// A soak's timeline as one self-contained HTML page (inline SVG, no script,
// nothing fetched): blackout per iteration for each target, failed
// iterations marked, p50/p95 drawn across, and the failures listed.

import type { IterationOutcome, StepOutcome } from '../run/outcome.js';
import { distribution } from '../run/stats.js';

const W = 960;
const H = 260;
const PAD = { left: 64, right: 16, top: 16, bottom: 36 };

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function chart(target: string, iterations: IterationOutcome[], failures: Map<number, string>): string {
  const n = Math.max(1, ...iterations.map((i) => i.iteration));
  const blackouts = iterations.filter((i) => i.metrics.blackoutMs !== undefined).map((i) => i.metrics.blackoutMs!);
  const top = Math.max(1000, ...blackouts) * 1.1;
  const x = (it: number) => PAD.left + ((it - 0.5) / n) * (W - PAD.left - PAD.right);
  const y = (ms: number) => H - PAD.bottom - (ms / top) * (H - PAD.top - PAD.bottom);
  const series = (key: 'blackoutMs' | 'kernelBlackoutMs') =>
    iterations
      .filter((i) => i.metrics[key] !== undefined)
      .map((i) => `${x(i.iteration).toFixed(1)},${y(i.metrics[key]!).toFixed(1)}`);
  const points = series('blackoutMs');
  // The kernel's part (exec to init) under the whole: the gap between the lines is user space starting.
  const kernelPoints = series('kernelBlackoutMs');
  const d = distribution(blackouts);
  const guides = d
    ? [
        ['p50', d.p50, '#2a7'],
        ['p95', d.p95, '#d80'],
      ]
        .map(
          ([label, v, color]) =>
            `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v as number)}" y2="${y(v as number)}" stroke="${color}" stroke-dasharray="4 3"/><text x="${PAD.left + 4}" y="${y(v as number) - 4}" fill="${color}" font-size="11">${label} ${(v as number).toFixed(0)} ms</text>`,
        )
        .join('')
    : '';
  const marks = iterations
    .map((i) => {
      const failed = i.verdict === 'fail';
      const at = i.metrics.blackoutMs !== undefined ? y(i.metrics.blackoutMs) : H - PAD.bottom;
      const m = i.metrics;
      const split =
        m.kernelBlackoutMs !== undefined ? ` (kernel ${m.kernelBlackoutMs} ms, user space ${m.userspaceMs} ms)` : '';
      const title = `iteration ${i.iteration}: ${i.verdict}${m.blackoutMs !== undefined ? `, blackout ${m.blackoutMs} ms${split}` : ''}${failed && failures.get(i.iteration) ? ` — ${failures.get(i.iteration)}` : ''}`;
      return `<circle class="${failed ? 'fail' : i.verdict}" cx="${x(i.iteration).toFixed(1)}" cy="${at.toFixed(1)}" r="${failed ? 5 : n > 200 ? 1.5 : 3}"><title>${esc(title)}</title></circle>`;
    })
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<text x="${PAD.left - 6}" y="${y(top * f) + 4}" text-anchor="end" font-size="11">${((top * f) / 1000).toFixed(1)} s</text>`,
    )
    .join('');
  const xTicks = [1, Math.ceil(n / 2), n]
    .map((it) => `<text x="${x(it)}" y="${H - PAD.bottom + 16}" text-anchor="middle" font-size="11">${it}</text>`)
    .join('');
  const legend = kernelPoints.length ? "; dashed: the kernel's part, exec to init" : '';
  return `<figure><figcaption>${esc(target)}: blackout per iteration (${iterations.length} iterations, ${[...failures.keys()].length} failed${legend})</figcaption>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="blackout per iteration for ${esc(target)}">
<rect x="${PAD.left}" y="${PAD.top}" width="${W - PAD.left - PAD.right}" height="${H - PAD.top - PAD.bottom}" fill="#fafafa" stroke="#ccc"/>
${ticks}${xTicks}<text x="${(W + PAD.left) / 2}" y="${H - 4}" text-anchor="middle" font-size="11">iteration</text>
${guides}<polyline fill="none" stroke="#36c" stroke-width="1.5" points="${points.join(' ')}"/>${kernelPoints.length ? `<polyline class="kernel" fill="none" stroke="#36c" stroke-width="1" stroke-dasharray="2 2" points="${kernelPoints.join(' ')}"/>` : ''}${marks}
</svg></figure>`;
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
    return chart(
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
