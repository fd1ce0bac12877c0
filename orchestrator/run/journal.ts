// The run's record: append-only JSON lines, each written whole and fsync'd
// before the run goes on, so a killed orchestrator loses nothing it
// reported and a run can be resumed or its reports rebuilt from this file
// alone. One writer at a time (a lock in the run directory); a torn last line
// (a writer killed mid-record) is cut away before anything is appended; the
// first record says which format the journal is in. Reading streams: a
// journal of any size is read in bounded memory.

import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BootFacts } from '../../contract/facts.js';
import { ConfigError, DiskFull } from '../errors.js';
import { fsyncDir, isDiskFull, writeAll } from '../files.js';
import { LockHeld, acquireLock } from '../lock.js';
import type { Logger } from '../log.js';
import type { IterationOutcome, StepOutcome, TargetOutcome } from './outcome.js';

export const JOURNAL_FILE = 'journal.jsonl';
const LOCK_FILE = 'journal.lock';
/** The journal format this lustress writes and reads; a journal of a newer one is refused. */
export const JOURNAL_FORMAT = 1;

export type JournalRecord =
  | {
      type: 'run';
      at: number;
      /** Absent in journals written before formats were numbered: those are format 1. */
      format?: number;
      scenario: string;
      file: string;
      text: string;
      options: Record<string, unknown>;
      version: string;
    }
  | ({ type: 'boot'; at: number; target: string; kernel?: string } & BootFacts)
  | ({ type: 'step'; at: number } & StepOutcome)
  | ({ type: 'iteration'; at: number } & IterationOutcome)
  | ({ type: 'target'; at: number } & TargetOutcome)
  | { type: 'resume'; at: number }
  | { type: 'end'; at: number; verdict: string };

const TYPES = new Set<string>(['run', 'boot', 'step', 'iteration', 'target', 'resume', 'end']);

export class Journal {
  private records: number;
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly fd: number,
    private readonly release: () => void,
    records: number,
  ) {
    this.records = records;
  }

  /** A new run's journal in `runDir`; refused where a run was recorded already. */
  static create(runDir: string): Journal {
    const file = join(runDir, JOURNAL_FILE);
    const release = lockRunDir(runDir);
    try {
      if (existsSync(file) && statSync(file).size > 0) {
        throw new ConfigError(
          `${runDir} already holds a run (${JOURNAL_FILE}): resume it with lustress resume, or give another --run-dir`,
        );
      }
      const fd = openSync(file, 'a');
      fsyncSync(fd);
      fsyncDir(runDir);
      return new Journal(file, fd, release, 0);
    } catch (e) {
      release();
      throw e;
    }
  }

  /** The journal of a run to go on with: locked, its torn last line (if any) cut away, its format checked. */
  static reopen(runDir: string, log: Logger): Journal {
    const file = join(runDir, JOURNAL_FILE);
    assertRunDir(runDir);
    const release = lockRunDir(runDir);
    try {
      let records = 0;
      const { wholeBytes, tornBytes } = scanJournal(runDir, () => records++);
      const fd = openSync(file, 'r+');
      if (tornBytes) {
        ftruncateSync(fd, wholeBytes);
        fsyncSync(fd);
        log.warn(
          { file, tornBytes, keptBytes: wholeBytes },
          'cut a torn last line off the journal (its writer was killed mid-record)',
        );
      }
      closeSync(fd);
      return new Journal(file, openSync(file, 'a'), release, records);
    } catch (e) {
      release();
      throw e;
    }
  }

  /** Appends one record, whole and on disk; a full disk stops the run with how much is safe. */
  append(record: JournalRecord): void {
    const line = Buffer.from(JSON.stringify(record) + '\n');
    const before = fstatSync(this.fd).size;
    try {
      writeAll(this.fd, line);
      fsyncSync(this.fd);
    } catch (e) {
      if (!isDiskFull(e)) throw e;
      // What part of the record reached the file would read as a torn line: take it back.
      try {
        ftruncateSync(this.fd, before);
      } catch {
        // the next reopen cuts it
      }
      throw new DiskFull(this.file, this.records, e);
    }
    this.records++;
  }

  get recorded(): number {
    return this.records;
  }

  /** Closes and unlocks; closing again does nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
      this.release();
    }
  }
}

/** Refuses, before anything is written there, a directory that holds no run. */
export function assertRunDir(runDir: string): void {
  if (!existsSync(join(runDir, JOURNAL_FILE)))
    throw new ConfigError(`${runDir} holds no ${JOURNAL_FILE}: not a lustress run directory`);
}

function lockRunDir(runDir: string): () => void {
  try {
    return acquireLock(join(runDir, LOCK_FILE));
  } catch (e) {
    if (e instanceof LockHeld)
      throw new ConfigError(`${runDir} is being written by lustress pid ${e.holder}; one run or resume at a time`);
    throw e;
  }
}

const CHUNK_BYTES = 1 << 20;
/** Longest record read: one step's answer is far smaller; a longer line is damage, not data. */
export const MAX_RECORD_BYTES = 64 << 20;

/**
 * Every whole record of a journal, in order, read in chunks: memory stays
 * bounded by the longest line, whatever the file's size. A torn last line is
 * not a record; its bytes are reported for a writer to cut away.
 */
export function scanJournal(
  runDir: string,
  onRecord: (r: JournalRecord, line: number) => void,
): { wholeBytes: number; tornBytes: number } {
  const file = join(runDir, JOURNAL_FILE);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new ConfigError(`${runDir} holds no ${JOURNAL_FILE}: not a lustress run directory`);
    throw new ConfigError(`cannot read ${file}: ${code ?? (e as Error).message}`);
  }
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let offset = 0;
  let wholeBytes = 0;
  let line = 0;
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK_BYTES, offset);
      if (n === 0) break;
      offset += n;
      let start = 0;
      for (let nl = chunk.indexOf(10, start); nl !== -1 && nl < n; nl = chunk.indexOf(10, start)) {
        const bytes = pending.length
          ? Buffer.concat([...pending, chunk.subarray(start, nl)])
          : chunk.subarray(start, nl);
        pending = [];
        pendingBytes = 0;
        line++;
        wholeBytes += bytes.length + 1;
        parseLine(file, line, bytes, onRecord);
        start = nl + 1;
      }
      if (start < n) {
        pending.push(Buffer.from(chunk.subarray(start, n)));
        pendingBytes += n - start;
        if (pendingBytes > MAX_RECORD_BYTES)
          throw new ConfigError(
            `${file}:${line + 1}: a line longer than ${MAX_RECORD_BYTES} bytes is not a journal record`,
          );
      }
    }
  } finally {
    closeSync(fd);
  }
  return { wholeBytes, tornBytes: pendingBytes };
}

function parseLine(
  file: string,
  line: number,
  bytes: Buffer,
  onRecord: (r: JournalRecord, line: number) => void,
): void {
  const text = bytes.toString('utf8');
  if (!text.trim()) return;
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}:${line}: corrupt journal record: ${(e as Error).message}`);
  }
  const r = record as { type?: unknown; at?: unknown; format?: unknown } | null;
  if (
    typeof r !== 'object' ||
    r === null ||
    Array.isArray(r) ||
    typeof r.type !== 'string' ||
    !TYPES.has(r.type) ||
    typeof r.at !== 'number'
  ) {
    throw new ConfigError(`${file}:${line}: not a journal record (an object with a known "type" and a time "at")`);
  }
  if (line === 1 && r.type !== 'run')
    throw new ConfigError(`${file}:1: a journal starts with its run record, not "${r.type}"`);
  if (r.type === 'run' && typeof r.format === 'number' && r.format > JOURNAL_FORMAT) {
    throw new ConfigError(
      `${file}: written in journal format ${r.format} by a newer lustress; this one reads format ${JOURNAL_FORMAT}`,
    );
  }
  onRecord(record as JournalRecord, line);
}

/** Every record of a small journal, in memory (tests and benchmarks; reports stream with scanJournal). */
export function readJournal(runDir: string): JournalRecord[] {
  const records: JournalRecord[] = [];
  scanJournal(runDir, (r) => records.push(r));
  return records;
}
