// The agent's interface, declared once for both sides: every method with the
// shape of its params (checked by the agent on every request) and the type of
// its result, and every notification with its payload. The agent's method
// table must implement exactly this (Handlers<AgentMethods>) and the
// orchestrator's calls are typed by it, so a renamed field or a missing method
// is a compile error, not a guest test failing minutes later.

import { IOMMU_MODES } from './devices.js';
import type { Capabilities, Hello, MachineFacts } from './facts.js';
import { bool, extend, int, list, object, oneOf, optional, record, str, u64, type Infer, type Shape } from './shape.js';

/** A result type, carried by the table for the compiler only. */
export interface Returns<R> {
  readonly result?: R;
}
const returns = <R>(): Returns<R> => ({});

export interface MethodSpec<P = unknown, R = unknown> {
  params: Shape<P>;
  result: Returns<R>;
}
export type MethodTable = Record<string, MethodSpec>;
export type ParamsOf<T extends MethodTable, M extends keyof T> = Infer<T[M]['params']>;
export type ResultOf<T extends MethodTable, M extends keyof T> = T[M]['result'] extends Returns<infer R> ? R : never;

// ---------------------------------------------------------------- shared shapes

const name = str;
const u32 = int(0, 2 ** 32 - 1);

/**
 * The largest buffer the agent maps: it works on each buffer through one view, and Node's views end at 4 GiB (koffi
 * aborts the process when asked for a larger one; sys/libc.ts's view() refuses it first).
 */
export const MAX_BUFFER_BYTES = 2 ** 32;
export const bufferParam = object({ name, sizeBytes: int(1, MAX_BUFFER_BYTES), backing: oneOf('memfd', 'hugetlb') });
export type BufferParam = Infer<typeof bufferParam>;

/** Which pattern a buffer holds: its seed and the generation of the fill that wrote it. */
export const patternId = object({ seed: u32, generation: u32 });
export type PatternId = Infer<typeof patternId>;

const patterned = extend(bufferParam, { pattern: patternId });
/**
 * A buffer a device copied into from `copyOf` (the source's newest pattern): each page must hold its own pattern
 * (no copy reached it) or the source's page from an older generation; one holding the newest was copied after the
 * source was last written.
 */
const copyCheck = extend(patternId, {
  /** The source's generations before the newest (its last few fills): what a copy made before the write holds. */
  earlier: list(u32, 16),
});
export type CopyCheck = Infer<typeof copyCheck>;
const copyChecked = extend(patterned, { copyOf: optional(copyCheck) });
const preserved = extend(bufferParam, { token: u64 });
export type PreservedBuffer = Infer<typeof preserved>;

export const deviceParam = object({
  name,
  bdf: optional(str),
  id: optional(str),
  index: optional(int(0)),
  vf: optional(int(0, 255)),
  driver: str,
  /** The variant driver to bind through driver_override; vfio-pci without it. */
  vfioDriver: optional(str),
  iommu: oneOf(...IOMMU_MODES),
  force: bool,
  /** nvme: the only namespace and blocks a copy may overwrite. */
  scratch: optional(object({ namespace: int(1, 2 ** 32 - 2), firstLba: int(0), lbas: optional(int(1)) })),
});
export type DeviceParam = Infer<typeof deviceParam>;

/** A device whose VFIO cdev fd a LUO session holds: how to find it again and where its buffers were mapped. */
const preservedDevice = object({
  device: deviceParam,
  bdf: str,
  token: u64,
  /** Buffer name -> the IOVA it was mapped at (decimal), rebuilt there after the reboot. */
  iovas: record(u64),
});
export type PreservedDevice = Infer<typeof preservedDevice>;

const kexecRequest = object({ kernel: str, initrd: optional(str), cmdline: optional(str), append: optional(str) });
/** What a target asks the agent to load: without `cmdline`, the running kernel's, plus `append`. */
export type KexecRequest = Infer<typeof kexecRequest>;

// ---------------------------------------------------------------- result types

export interface Mismatch {
  /** Byte offset into the buffer where a run of differing bytes starts. */
  offset: number;
  /** Length of the differing run. */
  length: number;
  expected: string;
  actual: string;
}

export interface VerifyReport {
  bytes: number;
  ms: number;
  /** Pages with at least one wrong byte. */
  badPages: number;
  /** Wrong bytes in all. */
  badBytes: number;
  mismatches: Mismatch[];
  /** With copyOf: how each page came to be what it is. */
  copy?: CopyReport;
}

/** The page the patterns, the verification reports and pinned IOVAs count in. */
export const PAGE = 4096;

/** A copy's destination, page by page: untouched, copied before the source's newest write, or after it. */
export interface CopyReport {
  untouchedPages: number;
  copiedPages: number;
  latePages: number;
  /** The first runs of late pages, by byte offset and length. */
  late: { offset: number; length: number }[];
}

export interface BindResult {
  bdf: string;
  pf?: string;
  sriov?: { totalVfs: number; numVfs: number; vfs: string[] };
  group: number;
  previousDriver?: string;
  /** The VFIO driver it is bound to: vfio-pci or a variant. */
  vfioDriver: string;
  driver: string;
  iommu: string;
  maxMemcpySize: number;
  maxMemcpyCount: number;
  /** Absent when the driver raises no MSI. */
  msiVector?: number;
}

/**
 * A preserved device taken back after the reboot, with what the kernel did at each rule of the uAPI: an errno where
 * it refused, "accepted"/"opened" where it did not.
 */
export interface DeviceRetrieval {
  device: string;
  bdf: string;
  /** LIVEUPDATE_SESSION_FINISH tried while the device was not yet retrieved (must be refused). */
  finishBefore: string;
  /** The device's cdev opened directly before RETRIEVE_FD (must fail with EBUSY). */
  cdevBefore: string;
  /** What RETRIEVE_FD returned, by its /proc/self/fd link (an anonymous inode). */
  file: string;
  /** The bus-master bit the new kernel left the device with: off when VFIO froze and reset it at the reboot. */
  busMaster: boolean;
  /** Buffer name -> the IOVA it is mapped at again. */
  iovas: Record<string, string>;
  /** The driver initialised on the retrieved device, as a bind would report it. */
  bound: BindResult;
}

/** A file the kernel would not preserve (it has no LUO handler for its kind). */
export interface Refusal {
  /** The buffer or device (by its scenario name) the file belongs to. */
  owner: string;
  what: string;
  /** The kind of file, as the LUO file handlers go: memfd, memfd-hugetlb, vfio-device, iommufd, ... */
  handler: string;
  errno: string;
}

export interface DmaInFlight {
  device: string;
  bytesDone: number;
  batches: number;
}

export interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

// ---------------------------------------------------------------- the methods

const none = object({});

export const AGENT_METHODS = {
  hello: { params: none, result: returns<Hello>() },
  /** PCI functions and IOMMU groups as they are now; capabilities as probed once in this boot. */
  facts: { params: none, result: returns<MachineFacts>() },
  ping: { params: none, result: returns<{ bootId: string; time: number }>() },
  stats: { params: none, result: returns<{ rssBytes: number; heapUsedBytes: number }>() },
  /** Runs a command (guest tests, the kernel's C selftests as a yardstick); disposable machines only. */
  exec: {
    params: object({ argv: list(str), cwd: optional(str), env: optional(record(str)), timeoutMs: optional(int(1)) }),
    result: returns<ExecResult>(),
  },
  bind: { params: object({ device: deviceParam }), result: returns<BindResult>() },
  map: {
    /** With `iova`, the buffers are mapped exactly there, one after another. */
    params: object({ device: name, buffers: list(bufferParam), iova: optional(u64) }),
    result: returns<{ iovas: Record<string, string>; mappedBytes: number }>(),
  },
  fill: { params: object({ buffers: list(patterned) }), result: returns<{ bytes: number; ms: number }>() },
  'memcpy-start': {
    params: object({
      device: name,
      from: name,
      to: name,
      sizeBytes: optional(int(1)),
      count: int(1),
      unmapped: optional(oneOf('from', 'to')),
    }),
    result: returns<{ plannedBytes: number; batches: number; src: string; dst: string }>(),
  },
  'memcpy-wait': {
    params: object({ device: name }),
    result: returns<{ ms: number; batches: number; bytes: number }>(),
  },
  'send-msi': {
    params: object({ device: name, count: int(1) }),
    result: returns<{ sent: number; firstMs?: number }>(),
  },
  'expect-msi': {
    params: object({ device: name, count: int(0), withinMs: int(0) }),
    result: returns<{ count: number }>(),
  },
  preserve: {
    params: object({ session: name, buffers: list(bufferParam), devices: list(name) }),
    result: returns<{
      /** Buffer name -> token. */
      tokens: Record<string, string>;
      /** Device name -> what its retrieval needs; only devices whose fd the kernel took. */
      devices: Record<string, Omit<PreservedDevice, 'device'>>;
      unsupported: Refusal[];
    }>(),
  },
  'kexec-load': { params: kexecRequest, result: returns<{ kernel: string; initrd?: string; cmdline: string }>() },
  /**
   * Answers first (the blackout clock starts on the answer), then rewrites `rewrite` (the sources of copies in flight,
   * so late DMA shows as their newest generation) and executes the loaded kernel.
   */
  'kexec-exec': {
    params: object({ rewrite: list(patterned) }),
    result: returns<{
      instant: number;
      inFlight: { dma: DmaInFlight[] };
      /** Preserved devices whose interrupts were disabled before the exec, as the uAPI requires. */
      interruptsOff: string[];
    }>(),
  },
  /** Buffers first; then for each device the uAPI's rules, checked in the series' order, and the device bound again. */
  retrieve: {
    params: object({ session: name, buffers: list(preserved), devices: list(preservedDevice) }),
    result: returns<{ buffers: string[]; devices: DeviceRetrieval[] }>(),
  },
  verify: {
    params: object({ buffers: list(copyChecked) }),
    result: returns<{ reports: Record<string, VerifyReport> }>(),
  },
  finish: { params: object({ session: name }), result: returns<Record<string, never>>() },
  corrupt: {
    params: object({ buffer: name, offset: int(0), xor: int(1, 255) }),
    result: returns<{ offset: number; before: number; after: number }>(),
  },
  /** Lets go of everything the iteration held: devices back to their drivers, sessions, buffers. */
  release: { params: none, result: returns<Record<string, never>>() },
} as const satisfies MethodTable;

export type AgentMethods = typeof AGENT_METHODS;
export type AgentMethod = keyof AgentMethods;
export type AgentParams<M extends AgentMethod> = ParamsOf<AgentMethods, M>;
export type AgentResult<M extends AgentMethod> = ResultOf<AgentMethods, M>;

/** What the agent says unasked. */
export interface AgentNotifications {
  /** Every boot's agent announces itself: across a kexec the orchestrator waits for exactly this. */
  hello: Hello;
  /** reboot(2) returned: the kernel did not execute the loaded image. */
  'kexec-failed': { message: string; call?: string; errno?: number; code?: string };
}

export type { Capabilities, Hello, MachineFacts };
