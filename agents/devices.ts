// The device steps: bind a PCI function to vfio-pci and start its lustress
// driver, map buffers for its DMA, copy, wait, and count its MSIs. At the end
// of an iteration the device goes back to the driver it had.

import { readlinkSync } from 'node:fs';
import type {
  AgentMethods,
  BindResult,
  DeviceParam,
  DeviceRetrieval,
  DmaInFlight,
  PreservedDevice,
} from '../contract/agent.js';
import { ERR, RpcError, type Handlers } from '../contract/rpc.js';
import type { Driver } from '../drivers/ops.js';
import { driverByName } from '../drivers/registry.js';
import {
  bindToVfio,
  disableSriov,
  enableSriov,
  openVfioDevice,
  restoreDriver,
  type VfioDevice,
} from '../drivers/vfio/index.js';
import { SysError, type Permit } from '../sys/errors.js';
import { currentDriver, findPciFunctions, iommuGroupOf, sriovState, VFIO_PCI } from '../sys/sysfs.js';
import { PCI } from '../sys/uapi.js';
import { DmaStream } from './dma-stream.js';
import { BadRequest } from './errors.js';
import type { AgentState, DeviceHandle, PreservableFd } from './state.js';

type DeviceMethods = Pick<
  Handlers<AgentMethods>,
  'bind' | 'map' | 'memcpy-start' | 'memcpy-wait' | 'send-msi' | 'expect-msi'
>;

/** The device steps' methods, over this boot's state; every side effect asks `permit`. */
export function deviceMethods(state: AgentState, permit: Permit): DeviceMethods {
  return {
    bind: (p) => bind(state, p.device, permit),
    map: (p) => map(state, p),
    'memcpy-start': (p) => memcpyStart(state, p),
    'memcpy-wait': (p, ctx) => memcpyWait(state, p, ctx.deadline),
    'send-msi': (p) => sendMsi(state, p),
    'expect-msi': (p) => expectMsi(state, p),
  };
}

class BoundDevice implements DeviceHandle {
  readonly iovas = new Map<string, bigint>();
  stream?: DmaStream;
  /** Interrupts already counted by send-msi (waiting for its first), still owed to expect-msi. */
  msisCounted = 0;

  constructor(
    readonly vfio: VfioDevice,
    readonly driver: Driver,
    private readonly permit: Permit,
    /** The PF kept open to hold the VF token, and whose VFs this binding created. */
    private readonly pf?: VfioDevice,
  ) {}

  preservableFds(): PreservableFd[] {
    return [{ kind: 'vfio-device', fd: this.vfio.fd }];
  }

  get bdf(): string {
    return this.vfio.bdf;
  }

  disableInterrupts(): void {
    this.vfio.disableIrqs();
  }

  /** Stops the DMA (the driver resets the device), unmaps, closes, and gives the function back to its driver. */
  async release(): Promise<void> {
    this.stream?.stop();
    await this.driver.remove().catch(() => {});
    for (const iova of this.iovas.values()) this.vfio.unmapDma(iova);
    this.vfio.close();
    await restoreDriver(this.vfio.bdf, { permit: this.permit });
    if (this.pf) {
      const pf = this.pf.bdf;
      this.pf.close();
      await disableSriov(pf, { permit: this.permit });
      await restoreDriver(pf, { permit: this.permit });
    }
  }
}

function device(state: AgentState, name: string): BoundDevice {
  const d = state.devices.get(name);
  if (!(d instanceof BoundDevice))
    throw new RpcError(ERR.failed, `device ${name} is not bound in this boot`, { device: name });
  return d;
}

function selectFunction(p: DeviceParam): string {
  const found = findPciFunctions({
    ...(p.bdf ? { bdf: p.bdf } : {}),
    ...(p.id ? { id: p.id, index: p.index ?? 0 } : {}),
  });
  if (found.length !== 1) {
    const all = p.id ? findPciFunctions({ id: p.id }).map((f) => f.bdf) : [];
    const what = p.bdf ?? `${p.id} #${p.index ?? 0}`;
    throw new RpcError(
      ERR.failed,
      `no PCI function ${what}${p.id ? ` (functions with that id: ${all.join(', ') || 'none'})` : ''}`,
      { device: p.name },
    );
  }
  return found[0]!.bdf;
}

/** Binds, opens and initialises the device; if any part fails, what the earlier parts changed is undone. */
async function bind(state: AgentState, d: DeviceParam, permit: Permit) {
  if (state.devices.has(d.name)) throw new RpcError(ERR.failed, `device ${d.name} is already bound in this boot`);
  const selected = selectFunction(d);
  const undo: (() => unknown)[] = [];
  const gated = { permit, force: d.force };
  const toVfio = async (bdf: string, vfioDriver: string) => {
    const bound = await bindToVfio(bdf, { ...gated, vfioDriver });
    if (bound.changed) undo.push(() => restoreDriver(bdf, gated));
    return bound;
  };
  try {
    let bdf = selected;
    let pf: VfioDevice | undefined;
    let vfToken: string | undefined;
    if (d.vf !== undefined) {
      // The VF's PF goes to vfio-pci, and holds the token the kernel asks of whoever opens its VFs.
      await toVfio(selected, VFIO_PCI);
      const vfs = await enableSriov(selected, d.vf + 1, { ...gated, vfioDriver: d.vfioDriver });
      undo.push(() => disableSriov(selected, gated));
      // The global, not node:crypto's import: that module loads at the agent's start, this only when a VF is used.
      vfToken = globalThis.crypto.randomUUID();
      const opened = openVfioDevice({ bdf: selected, iommu: d.iommu });
      pf = opened;
      undo.push(() => opened.close());
      pf.setVfToken(vfToken);
      bdf = vfs[d.vf]!;
    }
    const bound = await toVfio(bdf, d.vfioDriver ?? VFIO_PCI);
    const vfio = openVfioDevice({ bdf, iommu: d.iommu, ...(vfToken ? { vfToken } : {}) });
    undo.push(() => vfio.close());
    const driver = await startDriver(vfio, d);
    state.devices.set(d.name, new BoundDevice(vfio, driver, permit, pf));
    return {
      ...bindResult(bound, driver, d),
      bdf,
      ...(pf ? { pf: pf.bdf, sriov: sriovState(pf.bdf) } : {}),
    };
  } catch (e) {
    // Best effort, last change first: a failed bind leaves the device as it found it.
    for (const step of undo.reverse())
      await Promise.resolve()
        .then(step)
        .catch(() => {});
    throw e;
  }
}

/** Maps each buffer once per boot; pinned ones (p.iova) exactly where asked, one after another. */
/** The device's lustress driver, initialised (nvme with the scratch range the scenario names). */
async function startDriver(vfio: VfioDevice, d: DeviceParam): Promise<Driver> {
  const driver = driverByName(d.driver);
  await driver.init(vfio, undefined, d.scratch ? { scratch: d.scratch } : {});
  return driver;
}

/** What bind (and a retrieve that binds a device again) reports of the binding and the driver. */
function bindResult(
  bound: { bdf: string; group: number; previousDriver?: string | undefined; vfioDriver: string },
  driver: Driver,
  d: DeviceParam,
): BindResult {
  return {
    bdf: bound.bdf,
    group: bound.group,
    ...(bound.previousDriver ? { previousDriver: bound.previousDriver } : {}),
    vfioDriver: bound.vfioDriver,
    driver: driver.name,
    iommu: d.iommu,
    maxMemcpySize: driver.maxMemcpySize,
    maxMemcpyCount: driver.maxMemcpyCount,
    ...(driver.msiVector !== undefined ? { msiVector: driver.msiVector } : {}),
  };
}

/**
 * Takes back a device a live update preserved: the VFIO device built from the fd RETRIEVE_FD returned (not from its
 * path), bound to this boot's iommufd and IOAS, its buffers mapped again at the IOVAs they had, its driver started.
 * `rules` are what the kernel answered before (luo.ts checks them in the series' order).
 */
export async function adoptRetrieved(
  state: AgentState,
  permit: Permit,
  p: PreservedDevice,
  fd: number,
  rules: Pick<DeviceRetrieval, 'finishBefore' | 'cdevBefore'>,
): Promise<DeviceRetrieval> {
  const file = readlinkSync(`/proc/self/fd/${fd}`);
  const vfio = openVfioDevice({ bdf: p.bdf, iommu: 'iommufd', fd });
  const handle = new BoundDevice(vfio, driverByName(p.device.driver), permit);
  try {
    // Read before anything touches the device: what the new kernel left it as.
    const busMaster = Boolean(vfio.config.read16(PCI.PCI_COMMAND) & PCI.PCI_COMMAND_MASTER);
    const iovas: Record<string, string> = {};
    for (const [buffer, iova] of Object.entries(p.iovas)) {
      handle.iovas.set(buffer, vfio.mapDma(state.existing(buffer), BigInt(iova)));
      iovas[buffer] = `0x${BigInt(iova).toString(16)}`;
    }
    await handle.driver.init(vfio, undefined, p.device.scratch ? { scratch: p.device.scratch } : {});
    state.devices.set(p.device.name, handle);
    const group = iommuGroupOf(p.bdf);
    const vfioDriver = currentDriver(p.bdf) ?? 'none';
    return {
      device: p.device.name,
      bdf: p.bdf,
      ...rules,
      file,
      busMaster,
      iovas,
      bound: bindResult({ bdf: p.bdf, group, vfioDriver }, handle.driver, p.device),
    };
  } catch (e) {
    for (const iova of handle.iovas.values()) vfio.unmapDma(iova);
    vfio.close();
    throw e;
  }
}

function map(state: AgentState, p: Parameters<DeviceMethods['map']>[0]) {
  const d = device(state, p.device);
  const iovas: Record<string, string> = {};
  let at = p.iova === undefined ? undefined : BigInt(p.iova);
  for (const b of p.buffers) {
    const buffer = state.buffer(b);
    let iova = d.iovas.get(b.name);
    if (iova !== undefined && at !== undefined && iova !== at)
      throw new BadRequest(`buffer ${b.name} is already mapped at 0x${iova.toString(16)}, not 0x${at.toString(16)}`, {
        device: p.device,
      });
    if (iova === undefined) {
      try {
        iova = d.vfio.mapDma(buffer, at);
      } catch (e) {
        if (at === undefined || e instanceof SysError) throw e;
        throw new BadRequest(`${d.vfio.bdf}: cannot map buffer ${b.name}: ${(e as Error).message}`, {
          device: p.device,
        });
      }
      d.iovas.set(b.name, iova);
    }
    iovas[b.name] = `0x${iova.toString(16)}`;
    if (at !== undefined) at += BigInt(buffer.size);
  }
  return { iovas, mappedBytes: d.vfio.mappedBytes() };
}

/** An IOVA range of `size` bytes nothing is mapped at, within the device's reach. */
function unmappedIova(d: BoundDevice, size: number): bigint {
  const ranges = d.vfio.iovaRanges();
  const limit = d.vfio.dmaLimit;
  for (const r of [...ranges].reverse()) {
    const top = limit !== undefined && limit - 1n < r.last ? limit - 1n : r.last;
    const start = ((top - BigInt(size) + 1n) / 4096n) * 4096n;
    if (start >= r.start && !d.vfio.isMapped(start, size)) return start;
  }
  throw new RpcError(ERR.failed, `${d.vfio.bdf}: no unmapped IOVA range of ${size} bytes within the device's reach`);
}

function memcpyStart(state: AgentState, p: Parameters<DeviceMethods['memcpy-start']>[0]) {
  const d = device(state, p.device);
  if (d.stream) d.stream.stop();
  const sizeOf = (name: string) => state.existing(name).size;
  const size = p.sizeBytes ?? Math.min(sizeOf(p.from), sizeOf(p.to), d.driver.maxMemcpySize);
  const iova = (side: 'from' | 'to') => {
    if (p.unmapped === side) return unmappedIova(d, Math.min(size, d.driver.maxMemcpySize));
    const mapped = d.iovas.get(p[side]);
    if (mapped === undefined) throw new RpcError(ERR.failed, `buffer ${p[side]} is not mapped for device ${p.device}`);
    return mapped;
  };
  const src = iova('from');
  const dst = iova('to');
  try {
    d.stream = new DmaStream(d.driver, src, dst, size, p.count);
  } catch (e) {
    throw new BadRequest((e as Error).message, { device: p.device });
  }
  return {
    plannedBytes: d.stream.plannedBytes,
    batches: d.stream.batches,
    src: `0x${src.toString(16)}`,
    dst: `0x${dst.toString(16)}`,
  };
}

async function memcpyWait(state: AgentState, p: { device: string }, deadline: number) {
  const d = device(state, p.device);
  if (!d.stream) throw new RpcError(ERR.failed, `nothing was started on device ${p.device} in this boot`);
  const started = Date.now();
  const stream = d.stream;
  try {
    await stream.wait(Math.max(0, deadline - Date.now()));
  } finally {
    if (d.stream === stream) d.stream = undefined;
  }
  return { ms: Date.now() - started, batches: stream.batches, bytes: stream.bytesDone };
}

/** How long send-msi waits for the first interrupt, to time it; expect-msi judges the count. */
const FIRST_MSI_WAIT_MS = 1000;

/** Sends `count` MSIs and times the first one's arrival at its eventfd (the sendMsi -> eventfd latency). */
async function sendMsi(state: AgentState, p: { device: string; count: number }) {
  const d = device(state, p.device);
  const started = performance.now();
  for (let i = 0; i < p.count; i++) d.driver.sendMsi();
  // Usually counted already, and then taken without a promise; else the wait watches the eventfd itself at first:
  // what is timed is the interrupt, not a thread's wake-up.
  const n = d.driver.msiTake() || (await d.driver.msiCount(FIRST_MSI_WAIT_MS));
  const firstMs = n ? performance.now() - started : undefined;
  d.msisCounted += n;
  return { sent: p.count, ...(firstMs !== undefined ? { firstMs } : {}) };
}

/** How long after the expected count an extra interrupt still counts against it. */
const EXTRA_MSI_GRACE_MS = 100;

/**
 * Counts MSIs (with those send-msi already counted) until `count` arrived, then a short grace for extras, or until the
 * window closes.
 */
async function expectMsi(state: AgentState, p: { device: string; count: number; withinMs: number }) {
  const d = device(state, p.device);
  const until = Date.now() + p.withinMs;
  // Taken first: a driver without MSI makes the step a SKIP with the reason, not a count of 0.
  let seen = d.msisCounted + d.driver.msiTake();
  d.msisCounted = 0;
  while (Date.now() < until && (seen < p.count || p.count === 0))
    seen += await d.driver.msiCount(Math.max(1, until - Date.now()));
  if (p.count > 0) seen += await d.driver.msiCount(EXTRA_MSI_GRACE_MS);
  return { count: seen };
}

/** The copies still running, for the kexec-exec answer: the exec happens while they do. */
export function dmaInFlight(state: AgentState): DmaInFlight[] {
  return [...state.devices.entries()]
    .filter((e): e is [string, BoundDevice] => e[1] instanceof BoundDevice && Boolean(e[1].stream?.running))
    .map(([name, d]) => ({ device: name, bytesDone: d.stream!.bytesDone, batches: d.stream!.batches }));
}
