// The run's status line on a terminal: iteration i/N, elapsed, ETA, last
// blackout, failures so far. Nothing at all when stderr is not a TTY.

import { formatEta, ProgressLine } from '../progress.js';
import type { RunHooks } from '../run/engine.js';
import type { Scenario } from '../scenario/model.js';
import { formatDuration } from '../scenario/units.js';

export function runProgress(scenario: Scenario, iterations: number): { hooks: Partial<RunHooks>; finish(): void } {
  const line = new ProgressLine();
  if (!line.enabled) return { hooks: {}, finish: () => {} };
  const started = Date.now();
  const total = Number.isFinite(iterations) ? iterations * scenario.targets.length : undefined;
  let done = 0;
  let failures = 0;
  let lastBlackout: number | undefined;
  let current = '';
  const figures = (elapsed: number) => [
    formatDuration(Math.round(elapsed / 1000) * 1000 || 1000),
    lastBlackout !== undefined ? `last blackout ${(lastBlackout / 1000).toFixed(1)} s` : '',
    `${failures} failed`,
  ];
  const show = () => {
    const elapsed = Date.now() - started;
    const eta =
      total !== undefined
        ? formatEta(done, total, elapsed)
        : scenario.durationMs
          ? `ETA ${formatDuration(Math.max(0, scenario.durationMs - elapsed))}`
          : '';
    // The iteration under way: past the last one there is none (the run is ending).
    const at = total !== undefined ? `iteration ${Math.min(done + 1, total)}/${total}` : `iteration ${done + 1}`;
    const [time, blackout, failed] = figures(elapsed);
    line.update([at, time, eta, blackout, failed, current].filter(Boolean).join(' | '), true);
  };
  return {
    hooks: {
      step: (o) => {
        current = `${o.target}: last ${o.label} (${o.verdict})`;
        show();
      },
      iteration: (o) => {
        done++;
        if (o.verdict === 'fail') failures++;
        if (o.metrics.blackoutMs !== undefined) lastBlackout = o.metrics.blackoutMs;
        show();
      },
    },
    finish: () =>
      line.finish([`${done} iteration(s) done`, ...figures(Date.now() - started)].filter(Boolean).join(' | ')),
  };
}
