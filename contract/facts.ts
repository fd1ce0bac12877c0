// What the agent reports about the machine it runs on, as it crosses the
// channel: the hello of each boot, PCI functions, capabilities found by trying.

export interface PciFunction {
  bdf: string;
  vendor: string;
  device: string;
  class: string;
  driver?: string;
  iommuGroup?: number;
  sriovTotalVfs?: number;
  sriovNumVfs?: number;
  physfn?: string;
}

/** What the running kernel offers lustress, found by trying, never read off a version number. */
export interface Capabilities {
  iommuModes: string[];
  /** The kernel has VFIO device cdevs (the vfio-dev class exists). */
  vfioCdev: boolean;
  liveupdate: boolean;
  /** KHO is active: its debugfs tree is there. */
  kho: boolean;
  /** Per kind of file: "ok", or the errno LUO refused it with, or why it was not tried. */
  luoPreserves: Record<string, string>;
}

export interface Hello {
  agentVersion: string;
  pid: number;
  bootId: string;
  release: string;
  cmdline: string;
  uptimeMs: number;
  /** Whether this machine may be kexec'd, rebound or have SR-IOV changed. */
  disposable: boolean;
  dev: { vfioContainer: boolean; iommufd: boolean; liveupdate: boolean; vfioCdevs: string[] };
  iommuGroups: { group: number; devices: string[] }[];
  pci: PciFunction[];
  /** Absent where the agent could not probe; `{ error }` when probing failed. */
  capabilities?: Capabilities | { error: string };
  /**
   * When this boot's kernel executed init (its log's "Run ... as init process"; pid 1's start where the log lost it),
   * the agent's process started, and Node's own bootstrap ended (the agent's code starts loading), in ms of the
   * uptime clock (as uptimeMs; the log's own clock drifts from it, and its time is moved onto this one).
   */
  startup?: { initMs: number; agentMs: number; nodeReadyMs?: number };
}

/** What a boot says of itself in the journal and the report: its kernel, and which files its LUO preserves. */
export interface BootFacts {
  bootId: string;
  release: string;
  luoPreserves?: Record<string, string>;
}

export function bootFacts(hello: Hello): BootFacts {
  const caps = hello.capabilities;
  const preserves = caps && 'luoPreserves' in caps ? caps.luoPreserves : undefined;
  return {
    bootId: hello.bootId,
    release: hello.release,
    ...(preserves && Object.keys(preserves).length ? { luoPreserves: preserves } : {}),
  };
}

/** The kernel command-line word that marks a lustress QEMU guest as disposable (only lustress's launcher sets it). */
export const DISPOSABLE_CMDLINE_FLAG = 'lustress.disposable';
