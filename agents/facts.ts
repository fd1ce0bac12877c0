// What the agent tells the orchestrator about the machine it runs on: read
// from /proc, /sys and /dev, never assumed.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { Hello, MachineFacts } from '../contract/facts.js';
import { LUSTRESS_VERSION } from '../contract/version.js';
import { lastLoggedUsec, logClockLeadMs } from '../sys/kmsg.js';
import { iommuGroups, pciFunctions } from '../sys/sysfs.js';

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
};

const list = (dir: string): string[] => {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
};

export function bootId(): string {
  return read('/proc/sys/kernel/random/boot_id') ?? 'unknown';
}

/** USER_HZ: /proc/PID/stat counts in it, and the x86 ABI fixes it at 100. */
const CLOCK_TICKS_PER_S = 100;

/** When a process started, in ms since boot: field 22 of /proc/PID/stat (after the name, which may hold spaces). */
function startedMs(pid: number | 'self'): number | undefined {
  const stat = read(`/proc/${pid}/stat`);
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields?.[19]);
  return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_S : undefined;
}

/** The kernel's own word (init/main.c) when it executes init, whatever init is. */
const RUN_INIT = /Run \S+ as init process/;

/**
 * When the kernel executed init, in ms of the uptime clock: from its log, whose time is moved onto that clock (the
 * breakdown of a blackout subtracts it from uptimes, so a different clock would move time between the kernel's part
 * and init's); else pid 1's start, which is earlier: pid 1 exists (as kernel_init) while the kernel still probes
 * drivers and unpacks the initramfs.
 */
function initStartedMs(): number | undefined {
  try {
    const usec = lastLoggedUsec(RUN_INIT);
    // Measured only when there is a log time to move (it writes a record to the log).
    const leadMs = usec === undefined ? undefined : logClockLeadMs();
    if (usec !== undefined && leadMs !== undefined) return Math.max(0, Math.round(usec / 1000 - leadMs));
  } catch {
    // No kernel log to read or write (not root): pid 1's start stands in.
  }
  return startedMs(1);
}

/** Seconds since boot in /proc/uptime, in ms (to its 10 ms). */
const uptimeNowMs = () => Math.round(Number((read('/proc/uptime') ?? '0').split(' ')[0]) * 1000);

/** Where the boot went before the hello: init's start, the agent's, Node ready to run it, on the uptime clock. */
function startup(): Hello['startup'] {
  const initMs = initStartedMs();
  const agentMs = startedMs('self');
  // Node's own bootstrap ended this long before now (its clock is the process's).
  const nodeReadyMs = uptimeNowMs() - (performance.now() - performance.nodeTiming.bootstrapComplete);
  return initMs !== undefined && agentMs !== undefined
    ? { initMs, agentMs, nodeReadyMs: Math.round(Math.max(agentMs, nodeReadyMs)) }
    : undefined;
}

/** Who this boot is and how it started: what the orchestrator needs before anything else after a kexec. */
export function gatherHello(disposable: boolean): Hello {
  const started = startup();
  const facts = {
    agentVersion: LUSTRESS_VERSION,
    pid: process.pid,
    bootId: bootId(),
    release: read('/proc/sys/kernel/osrelease') ?? 'unknown',
    cmdline: read('/proc/cmdline') ?? '',
    version: read('/proc/version') ?? 'unknown',
    disposable,
    dev: {
      vfioContainer: existsSync('/dev/vfio/vfio'),
      iommufd: existsSync('/dev/iommu'),
      liveupdate: existsSync('/dev/liveupdate'),
      vfioCdevs: list('/dev/vfio/devices'),
    },
  };
  // Read last, as the hello goes out: the orchestrator counts the time from this reading to the hello's arrival as
  // the kernel's (its shutdown), so what the agent does after it would be charged to the kernel.
  return { ...facts, uptimeMs: uptimeNowMs(), ...(started ? { startup: started } : {}) };
}

/** The machine's PCI functions and IOMMU groups as they are now, with this boot's capabilities. */
export function gatherFacts(capabilities: MachineFacts['capabilities']): MachineFacts {
  return { iommuGroups: iommuGroups(), pci: pciFunctions(), capabilities };
}
