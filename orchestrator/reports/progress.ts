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
  const show = () => {
    const elapsed = Date.now() - started;
    const eta =
      total !== undefined
        ? formatEta(done, total, elapsed)
        : scenario.durationMs
          ? `ETA ${formatDuration(Math.max(0, scenario.durationMs - elapsed))}`
          : '';
    line.update(
      [
        `iteration ${done + 1}${total !== undefined ? `/${total}` : ''}`,
        formatDuration(Math.round(elapsed / 1000) * 1000 || 1000),
        eta,
        lastBlackout !== undefined ? `last blackout ${(lastBlackout / 1000).toFixed(1)} s` : '',
        `${failures} failed`,
        current,
      ]
        .filter(Boolean)
        .join(' | '),
      true,
    );
  };
  return {
    hooks: {
      step: (o) => {
        current = `${o.target}: ${o.label}`;
        show();
      },
      iteration: (o) => {
        done++;
        if (o.verdict === 'fail') failures++;
        if (o.metrics.blackoutMs !== undefined) lastBlackout = o.metrics.blackoutMs;
        show();
      },
    },
    finish: () => line.finish(),
  };
}
