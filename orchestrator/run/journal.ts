// The run's record: append-only JSON lines, fsync'd after every record, so a
// killed orchestrator loses nothing it reported and a run can be resumed or
// its reports rebuilt from this file alone.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { IterationOutcome, StepOutcome, TargetOutcome } from './outcome.js';

export const JOURNAL_FILE = 'journal.jsonl';

export type JournalRecord =
  | {
      type: 'run';
      at: number;
      scenario: string;
      file: string;
      text: string;
      options: Record<string, unknown>;
      version: string;
    }
  | { type: 'boot'; at: number; target: string; bootId: string; release: string; kernel?: string }
  | ({ type: 'step'; at: number } & StepOutcome)
  | ({ type: 'iteration'; at: number } & IterationOutcome)
  | ({ type: 'target'; at: number } & TargetOutcome)
  | { type: 'resume'; at: number }
  | { type: 'end'; at: number; verdict: string };

export class Journal {
  private readonly fd: number;

  constructor(readonly runDir: string) {
    this.fd = openSync(join(runDir, JOURNAL_FILE), 'a');
  }

  append(record: JournalRecord): void {
    writeSync(this.fd, JSON.stringify(record) + '\n');
    fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Every complete record of a journal; a torn last line (the writer was killed mid-write) is ignored. */
export function readJournal(runDir: string): JournalRecord[] {
  const file = join(runDir, JOURNAL_FILE);
  if (!existsSync(file)) throw new Error(`${runDir} holds no ${JOURNAL_FILE}: not a lustress run directory`);
  const records: JournalRecord[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      records.push(JSON.parse(line));
    } catch (e) {
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim()))
        throw new Error(`${file}:${i + 1}: corrupt journal record: ${(e as Error).message}`);
    }
  });
  return records;
}
