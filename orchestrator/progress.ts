// One status line, rewritten in place, for long operations on a terminal.
// Silent when stderr is not a TTY: logs and reports stay machine-readable.
// While a status line is shown, everything else written to the terminal
// (report lines on stdout, log lines on stderr) goes through `writeAbove`:
// the status is cleared, the text written, and the status drawn again below
// it, so the two never share a line.

const MIN_INTERVAL_MS = 100;

/** The status line on the terminal now, if any. */
const screen: { status?: ProgressLine | undefined } = {};

export class ProgressLine {
  private last = 0;
  private text = '';
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
    this.text = text.length > width ? text.slice(0, width - 1) + '…' : text;
    this.draw();
  }

  /** Leaves the terminal on a fresh line (with `text` as the last word, if given). */
  finish(text?: string): void {
    if (!this.enabled) return;
    if (text) this.update(text, true);
    if (screen.status === this) {
      this.out.write('\n');
      screen.status = undefined;
      flushUnfinished();
    }
  }

  /** Writes the status over the terminal's current line. */
  draw(): void {
    this.out.write(`\r\x1b[K${this.text}`);
    screen.status = this;
  }

  /** Takes the status off the screen, leaving the cursor at the start of its (now empty) line. */
  clear(): void {
    this.out.write('\r\x1b[K');
  }
}

/** Ends whatever status line is shown, so that a last word (an error) gets a line of its own. */
export function endStatusLine(): void {
  screen.status?.finish();
}

type Terminal = NodeJS.WritableStream & { isTTY?: boolean };

/** Per stream, the start of a line written while a status was shown: it goes out once the line is whole. */
const unfinished = new Map<Terminal, string>();

/**
 * Writes `text` to `stream`; when a status line is shown and `stream` is a terminal (taken to be the same one), whole
 * lines go above the status, which is then drawn again below them.
 */
export function writeAbove(stream: Terminal, text: string): void {
  const line = screen.status;
  if (!line || !stream.isTTY) {
    stream.write(text);
    return;
  }
  const all = (unfinished.get(stream) ?? '') + text;
  const end = all.lastIndexOf('\n') + 1;
  unfinished.set(stream, all.slice(end));
  if (!end) return;
  line.clear();
  stream.write(all.slice(0, end));
  line.draw();
}

/** Writes out what `writeAbove` held back, once no status line is in the way. */
function flushUnfinished(): void {
  for (const [stream, text] of unfinished) if (text) stream.write(text);
  unfinished.clear();
}

export function formatEta(done: number, total: number, elapsedMs: number): string {
  if (done <= 0 || total <= done) return '';
  const remaining = (elapsedMs / done) * (total - done);
  const m = Math.floor(remaining / 60_000);
  const s = Math.round((remaining % 60_000) / 1000);
  return `ETA ${m}m${String(s).padStart(2, '0')}s`;
}
