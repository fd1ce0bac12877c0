// The run's status line on a terminal: iteration i/N, elapsed, ETA, last
// blackout, failures so far, the last step. Nothing at all when stderr is
// not a TTY. A resumed run's line counts on from what was recorded.

import { formatEta, ProgressLine } from '../progress.js';
import type { RunObservers, RunStart } from '../run/run.js';
import { formatDuration } from '../scenario/units.js';

export function runProgress(): { hooks: Partial<RunObservers>; finish(): void } {
  const line = new ProgressLine();
  if (!line.enabled) return { hooks: {}, finish: () => {} };
  let started = Date.now();
  let total: number | undefined;
  let durationMs: number | undefined;
  /** Iterations before this process started (a resume's): counted, but not in the ETA's pace. */
  let before = 0;
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
        ? formatEta(done - before, total - before, elapsed)
        : durationMs
          ? `ETA ${formatDuration(Math.max(0, durationMs - elapsed))}`
          : '';
    // The iteration under way: past the last one there is none (the run is ending).
    const at = total !== undefined ? `iteration ${Math.min(done + 1, total)}/${total}` : `iteration ${done + 1}`;
    const [time, blackout, failed] = figures(elapsed);
    line.update([at, time, eta, blackout, failed, current].filter(Boolean).join(' | '), true);
  };
  return {
    hooks: {
      begin: (run: RunStart) => {
        started = Date.now();
        const n = run.settings.iterations;
        total = Number.isFinite(n) ? n * run.scenario.targets.length : undefined;
        durationMs = run.settings.durationMs;
        before = done = run.recorded.length;
        failures = run.recorded.filter((i) => i.verdict === 'fail').length;
        show();
      },
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
