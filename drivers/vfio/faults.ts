// DMA faults the IOMMU reported for one device, read from the kernel log
// (/dev/kmsg). QEMU's igb and edu cannot tell that a DMA write hit an
// unmapped IOVA (the write is dropped and the device carries on); the IOMMU
// can, and the Intel driver logs each fault as
//   DMAR: [DMA Write NO_PASID] Request device [0000:01:00.0] fault addr 0x... [fault reason 0x..] ...
// The kernel rate-limits these lines (10 per 5 s), so a missing line proves
// nothing; a present one is evidence. Only Intel VT-d's format is parsed.

import { setTimeout as sleep } from 'node:timers/promises';
import { KernelLog } from '../../sys/kmsg.js';

export interface IommuFault {
  access: 'read' | 'write';
  address: bigint;
  reason: string;
}

export class IommuFaultLog {
  private readonly log: KernelLog | undefined;
  private readonly pattern: RegExp;

  constructor(readonly bdf: string) {
    let log: KernelLog | undefined;
    try {
      log = KernelLog.open('end', { bdf });
    } catch {
      log = undefined; // no kernel log to read (not root, or no /dev/kmsg): faults are simply not collected
    }
    this.log = log;
    this.pattern = new RegExp(
      `\\[DMA (Read|Write)[^\\]]*\\] Request device \\[${bdf.replace(/\./g, '\\.')}\\] fault addr 0x([0-9a-f]+) (.*)$`,
      'i',
    );
  }

  /** Forgets everything logged so far: later `take`s report only newer faults. */
  mark(): void {
    this.log?.skipToEnd();
  }

  /** Faults for this device logged since the last mark or take. */
  take(): IommuFault[] {
    const faults: IommuFault[] = [];
    this.log?.read(({ message }) => {
      const m = this.pattern.exec(message);
      if (m)
        faults.push({
          access: m[1]!.toLowerCase() === 'read' ? 'read' : 'write',
          address: BigInt(`0x${m[2]}`),
          reason: m[3]!.trim(),
        });
    });
    return faults;
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
    this.log?.close();
  }
}
