// A target's console: every byte kept in the run directory, every line
// scanned for the kernel's distress signals.

import { closeSync, openSync, writeSync } from 'node:fs';

export type ConsoleEventKind = 'panic' | 'oops' | 'bug' | 'warning' | 'hung-task' | 'rcu-stall';

export interface ConsoleEvent {
  kind: ConsoleEventKind;
  /** 0-based index into the console's lines. */
  line: number;
  text: string;
}

const SIGNS: [ConsoleEventKind, RegExp][] = [
  ['panic', /Kernel panic - not syncing/],
  ['oops', /\bOops(: |\s*#)|general protection fault|BUG: unable to handle/],
  ['bug', /\bBUG: |kernel BUG at |watchdog: BUG: soft lockup/],
  ['warning', /WARNING: CPU: \d+ PID: \d+ at |------------\[ cut here \]------------/],
  ['hung-task', /INFO: task \S+ blocked for more than \d+ seconds/],
  // Under TCG these are a sign of a slow host, not by themselves a verdict.
  ['rcu-stall', /rcu: INFO: rcu_\w+ (self-)?detected stall|rcu_\w+ self-detected stall/],
];

/** Lines kept in memory for excerpts; the file keeps them all. */
const KEPT_LINES = 20_000;

/** Kinds that end a boot: the machine is gone or about to be. */
export const FATAL_KINDS: ReadonlySet<ConsoleEventKind> = new Set(['panic']);
/** Kinds that fail the step during which they appear; the others are reported only. */
export const FAILING_KINDS: ReadonlySet<ConsoleEventKind> = new Set(['oops', 'bug']);

export class ConsoleLog {
  private readonly fd: number;
  private partial = '';
  private closed = false;
  /** The most recent lines; lines[0] is line number `dropped`. */
  private readonly lines: string[] = [];
  private dropped = 0;
  readonly events: ConsoleEvent[] = [];
  private readonly listeners = new Set<(e: ConsoleEvent) => void>();
  private readonly lineListeners = new Set<(line: string) => void>();

  constructor(readonly file: string) {
    this.fd = openSync(file, 'a');
  }

  push(chunk: Buffer | string): void {
    if (this.closed) return;
    const text = String(chunk);
    writeSync(this.fd, text);
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const raw of parts) this.addLine(raw.replace(/\r$/, ''));
  }

  private addLine(line: string): void {
    const index = this.dropped + this.lines.push(line) - 1;
    if (this.lines.length > KEPT_LINES) {
      const cut = this.lines.length - KEPT_LINES / 2;
      this.lines.splice(0, cut);
      this.dropped += cut;
    }
    for (const l of this.lineListeners) l(line);
    const sign = SIGNS.find(([, re]) => re.test(line));
    if (!sign) return;
    // One report per splat: the "cut here" line and the WARNING line that follows are one warning.
    const last = this.events[this.events.length - 1];
    if (last && last.kind === sign[0] && index - last.line <= 3) return;
    const event: ConsoleEvent = { kind: sign[0], line: index, text: line };
    this.events.push(event);
    for (const l of this.listeners) l(event);
  }

  onLine(fn: (line: string) => void): () => void {
    this.lineListeners.add(fn);
    return () => this.lineListeners.delete(fn);
  }

  onEvent(fn: (e: ConsoleEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Lines around an event (or the last lines), for reports. */
  excerpt(event?: ConsoleEvent, before = 8, after = 40): string[] {
    const all = this.partial ? [...this.lines, this.partial] : this.lines;
    if (!event) return all.slice(-before - after);
    const at = event.line - this.dropped;
    return all.slice(Math.max(0, at - before), Math.max(0, at + after + 1));
  }

  /** Closes the file; closing again does nothing (a target may be stopped twice). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.partial) this.addLine(this.partial);
    this.partial = '';
    closeSync(this.fd);
  }
}
