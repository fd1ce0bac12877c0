// What the agent holds during one boot: buffers by name, devices by name, LUO
// sessions by name. Nothing survives a reboot except what the kernel
// preserved; the orchestrator re-names it after a retrieve.

import type { BufferParam } from '../contract/agent.js';
import { DmaBuffer } from '../drivers/vfio/dma-buffer.js';
import { LiveUpdate, type LuoSession } from '../kexec/luo.js';
import { ERR, RpcError } from '../contract/rpc.js';
import { BadRequest } from './errors.js';

/** Something the agent holds that must be let go at the end of an iteration. */
export interface Releasable {
  release(): Promise<void> | void;
}

/** A file a live update might carry for a device, if the kernel has a LUO handler for its kind. */
export interface PreservableFd {
  kind: 'vfio-device' | 'iommufd';
  fd: number;
}

export interface DeviceHandle extends Releasable {
  preservableFds(): PreservableFd[];
  /** Buffer name -> the IOVA it is mapped at for this device. */
  readonly iovas: ReadonlyMap<string, bigint>;
  readonly bdf: string;
  /** MSI-X off: a preserved device must have no interrupts enabled when the old kernel freezes it. */
  disableInterrupts(): void;
}

export class AgentState {
  readonly buffers = new Map<string, DmaBuffer>();
  readonly devices = new Map<string, DeviceHandle>();
  readonly sessions = new Map<string, LuoSession>();
  /** Devices whose fd a session holds: their interrupts go off before the exec. */
  readonly preservedDevices = new Set<string>();

  /**
   * /dev/liveupdate for one call, closed after it: LUO lets one process hold
   * it, and the host's own live-update daemon may need it between our steps.
   * Session fds live on without it.
   */
  withLiveUpdate<T>(fn: (lu: LiveUpdate) => T): T {
    const lu = LiveUpdate.open();
    try {
      return fn(lu);
    } finally {
      lu.close();
    }
  }

  /** The named buffer, created on first use. */
  buffer(p: BufferParam): DmaBuffer {
    const existing = this.buffers.get(p.name);
    if (existing) {
      if (existing.size < p.sizeBytes)
        throw new BadRequest(`buffer ${p.name} holds ${existing.size} bytes, not ${p.sizeBytes}`, { buffer: p.name });
      return existing;
    }
    const created = DmaBuffer.create(p.sizeBytes, { hugetlb: p.backing === 'hugetlb', name: `lustress:${p.name}` });
    this.buffers.set(p.name, created);
    return created;
  }

  /** A buffer that must already exist (filled, mapped or retrieved in this boot). */
  existing(name: string): DmaBuffer {
    const b = this.buffers.get(name);
    if (!b)
      throw new RpcError(
        ERR.failed,
        `buffer ${name} does not exist in this boot: nothing filled, mapped or retrieved it`,
        { buffer: name },
      );
    return b;
  }

  /** Lets everything go: devices first (they may still be reading the buffers), then sessions, then buffers. */
  async release(): Promise<void> {
    for (const d of this.devices.values()) await d.release();
    this.devices.clear();
    this.preservedDevices.clear();
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
    for (const b of this.buffers.values()) b.close();
    this.buffers.clear();
  }
}
