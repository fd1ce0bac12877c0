// Logs: pino JSON lines into the run directory, and a short readable line per
// record on stderr when stderr is a terminal. stdout is never used: it carries
// only the report.

import { Writable } from 'node:stream';
import { pino, type Logger, type StreamEntry, type Level } from 'pino';
import { writeAbove } from './progress.js';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogOptions {
  level: LogLevel;
  /** JSON lines are appended here (the run directory's log), if given. */
  file?: string;
  /** Readable lines on stderr; defaults to "stderr is a TTY". */
  pretty?: boolean;
  name?: string;
}

export function createLogger(opts: LogOptions): Logger {
  const streams: StreamEntry[] = [];
  if (opts.file) {
    const file = pino.destination({ dest: opts.file, sync: true, mkdir: true });
    // A log line the disk will not take is lost; the journal, not the log, is the run's record.
    file.on('error', () => {});
    streams.push({ level: opts.level as Level, stream: file });
  }
  if (opts.pretty ?? process.stderr.isTTY)
    streams.push({ level: opts.level as Level, stream: readableStream(process.stderr) });
  const base = { level: opts.level, base: opts.name ? { name: opts.name } : null };
  if (!streams.length) return pino({ ...base, enabled: false });
  return pino(base, pino.multistream(streams));
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const HIDDEN = new Set(['level', 'time', 'msg', 'name', 'pid', 'hostname']);

/** "12:03:04 INFO  booted target=vm ms=3021" from a pino JSON line. */
export function readableLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json);
  } catch {
    return json;
  }
  const time = new Date(Number(rec.time)).toISOString().slice(11, 19);
  const level = (LEVEL_NAMES[Number(rec.level)] ?? String(rec.level)).padEnd(5);
  const fields = Object.entries(rec)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${level} ${rec.name ? `[${rec.name}] ` : ''}${rec.msg ?? ''}${fields ? ' ' + fields : ''}`;
}

function readableStream(out: NodeJS.WriteStream): Writable {
  return new Writable({
    write(chunk, _enc, done) {
      // Above the run's status line, if one is shown.
      for (const line of String(chunk).split('\n')) if (line) writeAbove(out, readableLine(line) + '\n');
      done();
    },
  });
}
