// The kernel's log through /dev/kmsg: one record per read(2), as
// "prio,seq,usec,flags;message" (then continuation lines), never blocking.
// Records the ring buffer overwrote before they were read (EPIPE) are
// skipped: the next read gives the oldest one left. And the whole log at
// once, for a look back at the boot.

import { writeFileSync } from 'node:fs';
import { SysError } from './errors.js';
import {
  O_NONBLOCK,
  O_RDONLY,
  close,
  kernelLogText,
  open,
  readNonBlocking,
  seekToEnd,
  type CallContext,
} from './libc.js';

/** The longest record the kernel hands out (CONSOLE_EXT_LOG_MAX). */
const RECORD_MAX = 8192;

export interface KmsgRecord {
  /** When it was logged, in µs of the kernel's monotonic clock since boot. */
  usec: number;
  /** Its first line. */
  message: string;
}

export class KernelLog {
  private readonly buf = Buffer.alloc(RECORD_MAX);

  private constructor(
    private fd: number | undefined,
    private readonly ctx: CallContext,
  ) {}

  /** The log from its oldest record kept, or (`from: 'end'`) from what is logged next. */
  static open(from: 'start' | 'end', ctx: CallContext = {}): KernelLog {
    const fd = open('/dev/kmsg', O_RDONLY | O_NONBLOCK, ctx);
    if (from === 'end') seekToEnd(fd, ctx);
    return new KernelLog(fd, ctx);
  }

  /** Skips what is logged so far: the next `read` starts with newer records. */
  skipToEnd(): void {
    if (this.fd !== undefined) seekToEnd(this.fd, this.ctx);
  }

  /** Hands each record not yet read to `each` until none is left or `each` returns true. */
  read(each: (record: KmsgRecord) => boolean | void): void {
    if (this.fd === undefined) return;
    for (;;) {
      let n: number | undefined;
      try {
        n = readNonBlocking(this.fd, this.buf, this.ctx);
      } catch (e) {
        if (e instanceof SysError && e.code === 'EPIPE') continue;
        throw e;
      }
      if (!n) return;
      const record = this.buf.toString('utf8', 0, n);
      const semicolon = record.indexOf(';');
      const usec = Number(record.slice(0, semicolon).split(',')[2]);
      if (each({ usec, message: record.slice(semicolon + 1).split('\n')[0]! })) return;
    }
  }

  close(): void {
    if (this.fd !== undefined) close(this.fd);
    this.fd = undefined;
  }
}

/** How much of the log's newest end is read first: a lustress guest's init start is in it when the agent says hello. */
const TAIL_BYTES = 4096;

/**
 * When the kernel last logged a message matching `message` (anchored to a whole message), in µs since boot: from
 * the log's newest 4 KiB in one syslog(2) call, else from the whole log in another (a look back through /dev/kmsg is
 * one system call per record, hundreds after a boot, and each is slow under TCG; in a fresh guest the whole log took
 * 20-27 ms). Undefined when no record matches or printk adds no times to the text.
 */
export function lastLoggedUsec(message: RegExp): number | undefined {
  // "<6>[    2.017391] message", with "[    T1]" after the time where the kernel logs callers.
  const line = new RegExp(`^<\\d+>\\[\\s*(\\d+)\\.(\\d{6})\\](?:\\[[^\\]]*\\])? (?:${message.source})$`, 'gm');
  for (const maxBytes of [TAIL_BYTES, Infinity]) {
    const m = [...kernelLogText(maxBytes).matchAll(line)].at(-1);
    if (m) return Number(m[1]) * 1e6 + Number(m[2]);
  }
  return undefined;
}

/** What lustress logs to learn the log's clock: at debug level, so it stays off the console. */
const CLOCK_MARK = 'lustress: kernel log clock mark';

/** CLOCK_MONOTONIC in ms: the uptime clock, on a machine that has not been suspended since it booted. */
const monotonicMs = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * How far the kernel log's clock runs ahead of the uptime clock, in ms, so that a log time less this is on the clock
 * of /proc/uptime and /proc/PID/stat. The two are different clocks (printk's is sched_clock, which is adjusted when
 * it is marked stable) and drift apart during a boot: by -17 ms in a TCG guest, 0.35 ms on a KVM host. Measured by
 * logging a mark and reading back its time; throws where the log cannot be read or written (not root).
 */
export function logClockLeadMs(): number | undefined {
  const log = KernelLog.open('end');
  try {
    const before = monotonicMs();
    writeFileSync('/dev/kmsg', `<7>${CLOCK_MARK}\n`);
    const after = monotonicMs();
    let usec: number | undefined;
    log.read((r) => {
      if (r.message === CLOCK_MARK) usec = r.usec;
      return usec !== undefined;
    });
    return usec === undefined ? undefined : usec / 1000 - (before + after) / 2;
  } finally {
    log.close();
  }
}
