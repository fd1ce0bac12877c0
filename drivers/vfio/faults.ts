// DMA faults the IOMMU reported for one device, read from the kernel log
// (/dev/kmsg). QEMU's igb and edu cannot tell that a DMA write hit an
// unmapped IOVA (the write is dropped and the device carries on); the IOMMU
// can, and the Intel driver logs each fault as
//   DMAR: [DMA Write NO_PASID] Request device [0000:01:00.0] fault addr 0x... [fault reason 0x..] ...
// The kernel rate-limits these lines (10 per 5 s), so a missing line proves
// nothing; a present one is evidence. Only Intel VT-d's format is parsed.

import { setTimeout as sleep } from 'node:timers/promises';
import { SysError } from '../../sys/errors.js';
import { O_NONBLOCK, O_RDONLY, close, open, readNonBlocking, seekToEnd } from '../../sys/libc.js';

export interface IommuFault {
  access: 'read' | 'write';
  address: bigint;
  reason: string;
}

const RECORD_MAX = 8192;

export class IommuFaultLog {
  private fd: number | undefined;
  private readonly buf = Buffer.alloc(RECORD_MAX);
  private readonly pattern: RegExp;

  constructor(readonly bdf: string) {
    try {
      this.fd = open('/dev/kmsg', O_RDONLY | O_NONBLOCK, { bdf });
      seekToEnd(this.fd, { bdf });
    } catch {
      this.fd = undefined; // no kernel log to read (not root, or no /dev/kmsg): faults are simply not collected
    }
    this.pattern = new RegExp(
      `\\[DMA (Read|Write)[^\\]]*\\] Request device \\[${bdf.replace(/\./g, '\\.')}\\] fault addr 0x([0-9a-f]+) (.*)$`,
      'i',
    );
  }

  /** Forgets everything logged so far: later `take`s report only newer faults. */
  mark(): void {
    if (this.fd !== undefined) seekToEnd(this.fd, { bdf: this.bdf });
  }

  /** Faults for this device logged since the last mark or take. */
  take(): IommuFault[] {
    const faults: IommuFault[] = [];
    if (this.fd === undefined) return faults;
    for (;;) {
      let n: number | undefined;
      try {
        n = readNonBlocking(this.fd, this.buf, { bdf: this.bdf });
      } catch (e) {
        if (e instanceof SysError && e.code === 'EPIPE') continue; // records were overwritten before we read them
        throw e;
      }
      if (!n) return faults;
      const record = this.buf.toString('utf8', 0, n);
      const message = record.slice(record.indexOf(';') + 1).split('\n')[0]!;
      const m = this.pattern.exec(message);
      if (m)
        faults.push({
          access: m[1]!.toLowerCase() === 'read' ? 'read' : 'write',
          address: BigInt(`0x${m[2]}`),
          reason: m[3]!.trim(),
        });
    }
  }

  /** As `take`, but waits up to `ms` for a first fault: the IOMMU's fault interrupt may come after the completion. */
  async takeExpected(ms: number): Promise<IommuFault[]> {
    const until = Date.now() + ms;
    for (;;) {
      const faults = this.take();
      if (faults.length || Date.now() >= until) return faults;
      await sleep(2);
    }
  }

  close(): void {
    if (this.fd !== undefined) close(this.fd);
    this.fd = undefined;
  }
}
