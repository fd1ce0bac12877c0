// One status line, rewritten in place, for long operations on a terminal.
// Silent when stderr is not a TTY: logs and reports stay machine-readable.

const MIN_INTERVAL_MS = 100;

export class ProgressLine {
  private last = 0;
  private shown = false;
  readonly enabled: boolean;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {
    this.enabled = Boolean(out.isTTY);
  }

  update(text: string, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < MIN_INTERVAL_MS) return;
    this.last = now;
    const width = (this.out.columns || 100) - 1;
    this.out.write(`\r\x1b[K${text.length > width ? text.slice(0, width - 1) + '…' : text}`);
    this.shown = true;
  }

  /** Leaves the terminal on a fresh line (with `text` as the last word, if given). */
  finish(text?: string): void {
    if (!this.enabled) return;
    if (text) this.update(text, true);
    if (this.shown) this.out.write('\n');
    this.shown = false;
  }
}

export function formatEta(done: number, total: number, elapsedMs: number): string {
  if (done <= 0 || total <= done) return '';
  const remaining = (elapsedMs / done) * (total - done);
  const m = Math.floor(remaining / 60_000);
  const s = Math.round((remaining % 60_000) / 1000);
  return `ETA ${m}m${String(s).padStart(2, '0')}s`;
}
