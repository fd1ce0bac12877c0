// Writing files so that a reader never sees half of one: whole writes (a
// short write is continued, never ignored), fsync, and a rename into place;
// and the one error a full disk becomes.

import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Errors that mean the disk cannot take more: the run must stop, and say so. */
const FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EIO']);

export function isDiskFull(e: unknown): boolean {
  return FULL.has((e as NodeJS.ErrnoException).code ?? '');
}

/** Writes all of `data` at the file's position, continuing after short writes. */
export function writeAll(fd: number, data: Buffer): void {
  for (let off = 0; off < data.length;) {
    try {
      off += writeSync(fd, data, off, data.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' && (e as NodeJS.ErrnoException).code !== 'EINTR') throw e;
    }
  }
}

/** Makes a directory entry (a created or renamed file) durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a file through a temporary beside it, renamed into place once it is
 * whole and on disk: a reader sees the old file or the new one, never a part.
 */
export function writeFileAtomic(path: string, write: string | ((chunk: (text: string) => void) => void)): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    const chunk = (text: string) => writeAll(fd, Buffer.from(text));
    if (typeof write === 'string') chunk(write);
    else write(chunk);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dirname(path));
}
