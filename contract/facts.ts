// What the agent reports about the machine it runs on, as it crosses the
// channel: the hello of each boot (which kernel, how it started), and on
// request its facts (PCI functions, IOMMU groups, capabilities found by trying).

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
  /** /proc/version: which build this kernel is (two builds of one tree share their release). */
  version: string;
  dev: { vfioContainer: boolean; iommufd: boolean; liveupdate: boolean; vfioCdevs: string[] };
  /**
   * When this boot's kernel executed init (its log's "Run ... as init process"; pid 1's start where the log lost it),
   * the agent's process started, and Node's own bootstrap ended (the agent's code starts loading), in ms of the
   * uptime clock (as uptimeMs; the log's own clock drifts from it, and its time is moved onto this one).
   */
  startup?: { initMs: number; agentMs: number; nodeReadyMs?: number };
}

/**
 * What the agent finds on request (the `facts` method), not in every hello: listing PCI functions and probing what
 * the kernel offers take tens of milliseconds under TCG, which after a kexec would be part of the blackout.
 */
export interface MachineFacts {
  iommuGroups: { group: number; devices: string[] }[];
  pci: PciFunction[];
  /** `{ error }` when probing failed. */
  capabilities: Capabilities | { error: string };
}

/**
 * What a boot says of itself in the journal and the report: its kernel, and which files its LUO preserves, or the
 * earlier boot of the same kernel build (and command line) that was probed for it.
 */
export interface BootFacts {
  bootId: string;
  release: string;
  luoPreserves?: Record<string, string>;
  sameBuildAs?: string;
}

/** How a boot's facts were had: asked for, or those of an earlier boot of its kernel build. */
export type BootProbe = { facts: MachineFacts } | { sameBuildAs: string };

export function bootFacts(hello: Hello, probe: BootProbe): BootFacts {
  const caps = 'facts' in probe ? probe.facts.capabilities : undefined;
  const preserves = caps && 'luoPreserves' in caps ? caps.luoPreserves : undefined;
  return {
    bootId: hello.bootId,
    release: hello.release,
    ...(preserves && Object.keys(preserves).length ? { luoPreserves: preserves } : {}),
    ...('sameBuildAs' in probe ? { sameBuildAs: probe.sameBuildAs } : {}),
  };
}

/** The kernel command-line word that marks a lustress QEMU guest as disposable (only lustress's launcher sets it). */
export const DISPOSABLE_CMDLINE_FLAG = 'lustress.disposable';
