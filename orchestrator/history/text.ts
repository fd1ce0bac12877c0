// Plain-text presentation shared by history and compare: figures in their
// units, rates that read as "1 in 3000", and columns aligned for a terminal.

import type { MetricKey } from './digest.js';
import type { RateInterval } from './wilson.js';

/** A byte count to three significant digits in binary units. */
function bytes(v: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 ** (i + 1) && i < units.length - 1) i++;
  return `${i ? Number((v / 1024 ** i).toPrecision(3)) : v}${units[i]}`;
}

/** A metric's value in its unit: bytes binary, throughput to 0.01 GB/s, times to the millisecond or 3 digits. */
export function figure(metric: MetricKey, v: number): string {
  if (metric.endsWith('Bytes')) return bytes(v);
  if (metric === 'verifyGBps') return `${v.toFixed(2)}GB/s`;
  return `${Math.abs(v) >= 100 ? Math.round(v) : Number(v.toPrecision(3))}ms`;
}

/** A proportion as a percentage with two significant digits (0.0059%, 3.3%). */
export function percent(p: number): string {
  return p === 0 ? '0%' : `${Number((p * 100).toPrecision(2))}%`;
}

/** A failure rate as a person reads it: "1 in 3000 (95% CI 0.0059%–0.19%)", or "0 in 3000 (≤ 0.13%)". */
export function rate(failures: number, steps: number, ci: RateInterval): string {
  const bounds = failures ? `95% CI ${percent(ci.low)}–${percent(ci.high)}` : `95% CI ≤ ${percent(ci.high)}`;
  const oneIn = failures ? `1 in ${Math.round(steps / failures)}` : `0 in ${steps}`;
  return `${oneIn} (${bounds})`;
}

/** Rows of cells as left-aligned columns two spaces apart, the header first. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
