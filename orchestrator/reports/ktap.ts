// KTAP (Documentation/dev-tools/ktap.rst) on stdout: targets, each with its
// iterations, each with a test point per step. One target streams as it
// runs; with several, each target's block is printed whole when it ends so
// their lines never interleave.

import type { BootFacts } from '../../contract/facts.js';
import type { ConsoleEvent } from '../targets/console.js';
import type { IterationOutcome, StepOutcome, TargetOutcome, Verdict } from '../run/outcome.js';
import type { RunHooks } from '../run/engine.js';

const INDENT = '  ';

/**
 * KTAP descriptions may not contain '#' or line breaks: every kind of line
 * break and control character becomes a space, so no name or reason can start
 * a forged line for a reader that splits on any line ending.
 */
function description(text: string): string {
  return oneLine(text.replace(/#/g, 'no.'));
}

/** Text on one line: a diagnostic line may hold '#', never a line break. */
function oneLine(text: string): string {
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]/g, ' ');
}

/** "ok 3 name", "not ok 3 name # why", "ok 3 name # SKIP why". */
export function resultLine(n: number, verdict: Verdict, name: string, diagnostic: string): string {
  const ok = verdict === 'fail' ? 'not ok' : 'ok';
  const text = verdict === 'skip' ? `SKIP ${description(diagnostic)}`.trim() : description(diagnostic);
  return `${ok} ${n} ${description(name)}${text ? ` # ${text}` : ''}`;
}

export class KtapReporter implements RunHooks {
  private readonly blocks = new Map<string, string[]>();
  private readonly stepNumbers = new Map<string, number>();
  private readonly opened = new Set<string>();
  /** The iteration whose steps are being printed, per target. */
  private readonly iterationOpen = new Map<string, number>();
  private targetsDone = 0;

  constructor(
    private readonly out: (text: string) => void,
    private readonly targets: string[],
    private readonly iterations: number,
    private readonly stepsPerIteration: number,
    seed: number,
    /** Records arrive one target at a time (a rebuild from the journal): each target's lines can stream. */
    private readonly grouped = false,
  ) {
    this.out(`KTAP version 1\n1..${targets.length}\n# seed ${seed} (--seed ${seed} replays this run's jitter)\n`);
  }

  private streaming(): boolean {
    return this.grouped || this.targets.length === 1;
  }

  private emit(target: string, lines: string[]): void {
    if (this.streaming()) this.out(lines.map((l) => l + '\n').join(''));
    else (this.blocks.get(target) ?? this.blocks.set(target, []).get(target)!).push(...lines);
  }

  private openTarget(target: string): void {
    if (this.opened.has(target)) return;
    this.opened.add(target);
    const plan = Number.isFinite(this.iterations) ? [`${INDENT}1..${this.iterations}`] : [];
    this.emit(target, [`${INDENT}KTAP version 1`, ...plan]);
  }

  boot(target: string, boot: BootFacts): void {
    this.openTarget(target);
    const preserves = Object.entries(boot.luoPreserves ?? {}).map(([kind, verdict]) => `${kind} ${verdict}`);
    this.emit(target, [
      `${INDENT}# ${oneLine(`${target}: boot ${boot.bootId}, kernel ${boot.release}`)}`,
      ...(preserves.length ? [`${INDENT}# ${oneLine(`${target}: LUO preserves: ${preserves.join('; ')}`)}`] : []),
      ...(boot.sameBuildAs
        ? [`${INDENT}# ${oneLine(`${target}: the kernel build of boot ${boot.sameBuildAs}, not probed again`)}`]
        : []),
    ]);
  }

  step(o: StepOutcome): void {
    this.openTarget(o.target);
    if (this.iterationOpen.get(o.target) !== o.iteration) {
      this.iterationOpen.set(o.target, o.iteration);
      this.stepNumbers.set(o.target, 0);
      this.emit(o.target, [
        `${INDENT}${INDENT}KTAP version 1`,
        `${INDENT}${INDENT}1..${o.kind === 'boot' ? 1 : this.stepsPerIteration}`,
      ]);
    }
    const n = (this.stepNumbers.get(o.target) ?? 0) + 1;
    this.stepNumbers.set(o.target, n);
    const seen = (o.detail?.console as ConsoleEvent[] | undefined) ?? [];
    const diag = [
      ...seen.map((e) => `${INDENT}${INDENT}# console ${e.kind}: ${oneLine(e.text.trim())}`),
      ...(o.excerpt ?? []).map((l) => `${INDENT}${INDENT}# | ${oneLine(l)}`),
    ];
    this.emit(o.target, [
      ...diag,
      `${INDENT}${INDENT}${resultLine(n, o.verdict, `${o.iteration}.${o.step} ${o.label}`, o.reason)}`,
    ]);
  }

  iteration(o: IterationOutcome): void {
    const m = o.metrics;
    const facts = [
      m.blackoutMs !== undefined
        ? `blackout ${m.blackoutMs} ms${m.kernelBlackoutMs !== undefined ? ` (kernel: exec to init ${m.kernelBlackoutMs} ms; user space: init to hello ${m.userspaceMs} ms)` : ''}`
        : '',
      m.firstAnswerMs !== undefined ? `first answer ${m.firstAnswerMs} ms after the hello` : '',
      m.verifyGBps !== undefined ? `verify ${m.verifyGBps.toFixed(2)} GB/s` : '',
      m.dmaBytes ? `DMA ${m.dmaBytes} bytes` : '',
      m.msiLatencyMs !== undefined ? `MSI ${m.msiLatencyMs.toFixed(2)} ms` : '',
      m.jitterMs !== undefined ? `jitter ${m.jitterMs} ms` : '',
    ].filter(Boolean);
    this.emit(o.target, [
      `${INDENT}${resultLine(o.iteration, o.verdict, `iteration ${o.iteration}`, facts.join(', '))}`,
    ]);
    this.iterationOpen.delete(o.target);
  }

  target(o: TargetOutcome): void {
    // A target that never booted has its boot failure as its only iteration.
    if (this.iterationOpen.has(o.target))
      this.emit(o.target, [`${INDENT}${resultLine(1, 'fail', 'iteration 1', o.untestable ?? '')}`]);
    this.targetsDone++;
    const line = resultLine(
      this.targetsDone,
      o.verdict,
      o.target,
      o.untestable ?? (o.failures ? `${o.failures} of ${o.iterations} iteration(s) failed` : ''),
    );
    if (this.streaming()) this.out(line + '\n');
    else this.out([...(this.blocks.get(o.target) ?? []), line].map((l) => l + '\n').join(''));
  }
}
