// The agent's log: JSON lines appended to a file (the run directory's
// agent-BOOT.log in a guest) or to stderr; never to the agent channel. The
// lines are pino's ({"level":30,"time":…,"name":"agent",…,"msg":"…"}), so
// pino's tools read them, but pino itself is not loaded: the agent writes a
// handful of lines per boot, and loading pino (and the streams, worker
// threads and assert of Node's it pulls in) cost about 0.5 s of every
// blackout under TCG.

import { mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** pino's levels and their numbers. */
export const LOG_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
export type LogLevel = keyof typeof LOG_LEVELS;

/** A line with fields and a message, or a message alone, as pino takes them. */
type LogFn = (fieldsOrMessage: object | string, message?: string) => void;
export type Logger = Record<Exclude<LogLevel, 'silent'>, LogFn>;

export function agentLogger(level: LogLevel, file?: string): Logger {
  let fd = 2;
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    fd = openSync(file, 'a');
  }
  const at =
    (n: number): LogFn =>
    (fieldsOrMessage, message) => {
      if (n < LOG_LEVELS[level]) return;
      const fields =
        typeof fieldsOrMessage === 'string' ? { msg: fieldsOrMessage } : { ...fieldsOrMessage, msg: message };
      // One write per line, synchronously: a line is whole in the file even if the next moment is a kexec.
      writeSync(fd, `${JSON.stringify({ level: n, time: Date.now(), name: 'agent', ...fields })}\n`);
    };
  const { trace, debug, info, warn, error, fatal } = LOG_LEVELS;
  return { trace: at(trace), debug: at(debug), info: at(info), warn: at(warn), error: at(error), fatal: at(fatal) };
}
