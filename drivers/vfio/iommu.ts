// The IOMMU back ends a device can sit behind, each one IOVA address space:
//   type1, type1v2   the legacy container /dev/vfio/vfio with groups
//   iommufd-compat   /dev/iommu used as that container (iommufd's VFIO compat ioctls), type1v2 semantics
//   iommufd          /dev/iommu with one IOAS, devices through their VFIO cdev (bind + attach)
// One address space per mode per process, shared by every device opened in
// that mode and closed with the last of them; groups shared likewise.

import { existsSync } from 'node:fs';
import { IOMMU_MODES, type IommuMode } from '../../contract/devices.js';
import { capabilityChain } from './caps.js';
import { IovaAllocator, type IovaRange } from './iova.js';
import { SysError } from '../../sys/errors.js';
import { O_RDWR, addressOf, close, ioctl, open, type CallContext } from '../../sys/libc.js';
import { readText, vfioCdevOf } from '../../sys/sysfs.js';
import { STRUCTS, VFIO } from '../../sys/uapi.js';

export interface DmaMapping {
  iova: bigint;
  vaddr: bigint;
  size: number;
  /** The BDF of the device the mapping was made for. */
  owner: string;
}

export interface MapOptions {
  /** Exclusive upper bound for the IOVA (the device's DMA mask + 1). */
  limit?: bigint;
  /** This IOVA exactly (see AllocateOptions.at). */
  at?: bigint;
}

/** A VF token as the kernel wants it: 16 bytes of UUID. */
export function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`"${uuid}" is not a UUID`);
  return Buffer.from(hex, 'hex');
}

export abstract class AddressSpace {
  private readonly mappings = new Map<bigint, DmaMapping>();
  private allocator = new IovaAllocator();
  /** Devices attached, by BDF. */
  protected readonly devices = new Set<string>();

  constructor(
    readonly mode: IommuMode,
    protected readonly fd: number,
  ) {}

  /** Opens the device through this address space and returns its VFIO device fd. */
  abstract attach(bdf: string, group: number, vfToken?: string): number;

  /**
   * Attaches a device fd this process did not open (one a live update handed back): only a cdev bound to an iommufd
   * can be preserved, so only iommufd takes one.
   */
  adopt(bdf: string, _fd: number): number {
    throw new Error(`${bdf}: a device fd handed back by a live update needs iommu: iommufd, not ${this.mode}`);
  }
  protected abstract detachDevice(bdf: string): void;
  /** The IOVA ranges the kernel allows now (they depend on the attached devices' reserved regions). */
  abstract iovaRanges(ctx: CallContext): IovaRange[];
  protected abstract mapRange(m: DmaMapping): void;
  protected abstract unmapRange(m: DmaMapping): void;

  /** Maps [vaddr, vaddr + size) for DMA at a newly allocated IOVA (or opts.at) and returns it. */
  map(vaddr: bigint, size: number, owner: string, opts: MapOptions = {}): bigint {
    const ctx = { bdf: owner };
    const iova = this.allocator.allocate(BigInt(size), this.iovaRanges(ctx), opts);
    const m: DmaMapping = { iova, vaddr, size, owner };
    try {
      this.mapRange(m);
    } catch (e) {
      this.allocator.release(iova);
      throw e;
    }
    this.mappings.set(iova, m);
    return iova;
  }

  unmap(iova: bigint): DmaMapping {
    const m = this.mappings.get(iova);
    if (!m) throw new Error(`IOVA 0x${iova.toString(16)} is not mapped in this ${this.mode} address space`);
    this.unmapRange(m);
    this.mappings.delete(iova);
    this.allocator.release(iova);
    return m;
  }

  mappingsOf(owner?: string): DmaMapping[] {
    return [...this.mappings.values()].filter((m) => owner === undefined || m.owner === owner);
  }

  mappedBytes(owner?: string): number {
    return this.mappingsOf(owner).reduce((sum, m) => sum + m.size, 0);
  }

  /** Whether [iova, iova + size) lies inside one mapping. */
  isMapped(iova: bigint, size: number): boolean {
    return [...this.mappings.values()].some((m) => iova >= m.iova && iova + BigInt(size) <= m.iova + BigInt(m.size));
  }

  detach(bdf: string): void {
    for (const m of this.mappingsOf(bdf)) this.unmap(m.iova);
    this.detachDevice(bdf);
    this.devices.delete(bdf);
    if (this.devices.size === 0) {
      // The container forgets its mappings when its last group leaves; so do we.
      this.mappings.clear();
      this.allocator = new IovaAllocator();
      releaseSpace(this);
    }
  }

  get attachedDevices(): string[] {
    return [...this.devices];
  }

  close(): void {
    close(this.fd);
  }
}

/** type1, type1v2 and iommufd-compat: a VFIO container with groups attached. */
class ContainerSpace extends AddressSpace {
  private readonly groups = new Map<number, { fd: number; devices: Set<string> }>();
  private iommuSet = false;

  constructor(
    mode: IommuMode,
    fd: number,
    private readonly iommuType: number,
  ) {
    super(mode, fd);
  }

  attach(bdf: string, group: number, vfToken?: string): number {
    const ctx = { bdf };
    let g = this.groups.get(group);
    if (!g) {
      const fd = open(`/dev/vfio/${group}`, O_RDWR, ctx);
      try {
        const status = STRUCTS.vfio_group_status.alloc({ argsz: STRUCTS.vfio_group_status.size });
        ioctl(fd, 'VFIO_GROUP_GET_STATUS', status, ctx);
        if (!(STRUCTS.vfio_group_status.get(status, 'flags') & VFIO.VFIO_GROUP_FLAGS_VIABLE)) {
          throw new Error(`${bdf}: IOMMU group ${group} is not viable (another member is bound to a host driver)`);
        }
        const containerFd = Buffer.alloc(4);
        containerFd.writeInt32LE(this.fd);
        ioctl(fd, 'VFIO_GROUP_SET_CONTAINER', containerFd, ctx);
        if (!this.iommuSet) {
          ioctl(this.fd, 'VFIO_SET_IOMMU', this.iommuType, ctx);
          this.iommuSet = true;
        }
      } catch (e) {
        close(fd);
        throw e;
      }
      g = { fd, devices: new Set() };
      this.groups.set(group, g);
    }
    // The VF token rides on the device name: "0000:01:10.0 vf_token=<uuid>".
    const name = Buffer.from(`${bdf}${vfToken ? ` vf_token=${vfToken}` : ''}\0`);
    try {
      const deviceFd = ioctl(g.fd, 'VFIO_GROUP_GET_DEVICE_FD', name, ctx);
      g.devices.add(bdf);
      this.devices.add(bdf);
      return deviceFd;
    } catch (e) {
      this.releaseGroupIfUnused(group);
      throw e;
    }
  }

  protected detachDevice(bdf: string): void {
    for (const [group, g] of this.groups) {
      if (g.devices.delete(bdf)) this.releaseGroupIfUnused(group);
    }
  }

  private releaseGroupIfUnused(group: number): void {
    const g = this.groups.get(group);
    if (!g || g.devices.size) return;
    close(g.fd); // closing the group fd takes it out of the container
    this.groups.delete(group);
    if (this.groups.size === 0) this.iommuSet = false;
  }

  iovaRanges(ctx: CallContext): IovaRange[] {
    const T = STRUCTS.vfio_iommu_type1_info;
    let info = T.alloc({ argsz: T.size });
    ioctl(this.fd, 'VFIO_IOMMU_GET_INFO', info, ctx);
    const argsz = T.get(info, 'argsz');
    if (argsz > T.size) {
      info = T.alloc({ argsz }, argsz - T.size);
      ioctl(this.fd, 'VFIO_IOMMU_GET_INFO', info, ctx);
    }
    if (!(T.get(info, 'flags') & VFIO.VFIO_IOMMU_INFO_CAPS))
      throw new Error(`${this.mode}: VFIO_IOMMU_GET_INFO reports no capabilities, so no IOVA ranges`);
    const cap = capabilityChain(info, T.get(info, 'cap_offset'), T.size).find(
      (c) => c.id === VFIO.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
    );
    if (!cap) throw new Error(`${this.mode}: VFIO_IOMMU_GET_INFO has no IOVA range capability`);
    const C = STRUCTS.vfio_iommu_type1_info_cap_iova_range;
    const R = STRUCTS.vfio_iova_range;
    const n = C.get(info, 'nr_iovas', cap.offset);
    return Array.from({ length: n }, (_, i) => {
      const r = R.read(info, cap.offset + C.size + i * R.size);
      return { start: r.start, last: r.end };
    });
  }

  protected mapRange(m: DmaMapping): void {
    const T = STRUCTS.vfio_iommu_type1_dma_map;
    const arg = T.alloc({
      argsz: T.size,
      flags: VFIO.VFIO_DMA_MAP_FLAG_READ | VFIO.VFIO_DMA_MAP_FLAG_WRITE,
      vaddr: m.vaddr,
      iova: m.iova,
      size: BigInt(m.size),
    });
    ioctl(this.fd, 'VFIO_IOMMU_MAP_DMA', arg, { bdf: m.owner });
  }

  protected unmapRange(m: DmaMapping): void {
    const T = STRUCTS.vfio_iommu_type1_dma_unmap;
    ioctl(this.fd, 'VFIO_IOMMU_UNMAP_DMA', T.alloc({ argsz: T.size, iova: m.iova, size: BigInt(m.size) }), {
      bdf: m.owner,
    });
  }
}

/** iommufd proper: one IOAS; each device bound through its cdev and attached to the IOAS. */
class IommufdSpace extends AddressSpace {
  constructor(
    fd: number,
    private readonly ioasId: number,
  ) {
    super('iommufd', fd);
  }

  attach(bdf: string, _group: number, vfToken?: string): number {
    const cdev = vfioCdevOf(bdf);
    if (!cdev)
      throw new Error(
        `${bdf}: no VFIO cdev (/dev/vfio/devices/vfioN): is it bound to vfio-pci, and does the kernel have VFIO_DEVICE_CDEV?`,
      );
    const fd = open(cdev, O_RDWR, { bdf });
    try {
      this.bind(fd, bdf, vfToken);
    } catch (e) {
      close(fd);
      throw e;
    }
    return fd;
  }

  /** Binds the retrieved fd to this iommufd and attaches it to the IOAS; the caller owns the fd either way. */
  override adopt(bdf: string, fd: number): number {
    this.bind(fd, bdf);
    return fd;
  }

  /** VFIO_DEVICE_BIND_IOMMUFD, then VFIO_DEVICE_ATTACH_IOMMUFD_PT to the IOAS. */
  private bind(fd: number, bdf: string, vfToken?: string): void {
    const ctx = { bdf };
    const B = STRUCTS.vfio_device_bind_iommufd;
    const token = vfToken ? uuidBytes(vfToken) : undefined;
    const bind = B.alloc({
      argsz: B.size,
      flags: token ? VFIO.VFIO_DEVICE_BIND_FLAG_TOKEN : 0,
      iommufd: this.fd,
      token_uuid_ptr: token ? addressOf(token) : 0n,
    });
    ioctl(fd, 'VFIO_DEVICE_BIND_IOMMUFD', bind, ctx);
    const A = STRUCTS.vfio_device_attach_iommufd_pt;
    ioctl(fd, 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', A.alloc({ argsz: A.size, pt_id: this.ioasId }), ctx);
    this.devices.add(bdf);
  }

  protected detachDevice(): void {
    // Closing the device fd (the device does it) unbinds it from the iommufd.
  }

  iovaRanges(ctx: CallContext): IovaRange[] {
    const Q = STRUCTS.iommu_ioas_iova_ranges;
    const R = STRUCTS.iommu_iova_range;
    for (let room = 8; ;) {
      const ranges = Buffer.alloc(room * R.size);
      const q = Q.alloc({ size: Q.size, ioas_id: this.ioasId, num_iovas: room, allowed_iovas: addressOf(ranges) });
      try {
        ioctl(this.fd, 'IOMMU_IOAS_IOVA_RANGES', q, ctx);
      } catch (e) {
        // EMSGSIZE: more ranges than room; num_iovas now says how many.
        if (e instanceof SysError && e.code === 'EMSGSIZE' && Q.get(q, 'num_iovas') > room) {
          room = Q.get(q, 'num_iovas');
          continue;
        }
        throw e;
      }
      return Array.from({ length: Q.get(q, 'num_iovas') }, (_, i) => R.read(ranges, i * R.size));
    }
  }

  protected mapRange(m: DmaMapping): void {
    const T = STRUCTS.iommu_ioas_map;
    const flags = VFIO.IOMMU_IOAS_MAP_FIXED_IOVA | VFIO.IOMMU_IOAS_MAP_READABLE | VFIO.IOMMU_IOAS_MAP_WRITEABLE;
    ioctl(
      this.fd,
      'IOMMU_IOAS_MAP',
      T.alloc({ size: T.size, flags, ioas_id: this.ioasId, user_va: m.vaddr, length: BigInt(m.size), iova: m.iova }),
      { bdf: m.owner },
    );
  }

  protected unmapRange(m: DmaMapping): void {
    const T = STRUCTS.iommu_ioas_unmap;
    ioctl(
      this.fd,
      'IOMMU_IOAS_UNMAP',
      T.alloc({ size: T.size, ioas_id: this.ioasId, iova: m.iova, length: BigInt(m.size) }),
      { bdf: m.owner },
    );
  }
}

const CONTAINER_PATH: Record<Exclude<IommuMode, 'iommufd'>, string> = {
  type1: '/dev/vfio/vfio',
  type1v2: '/dev/vfio/vfio',
  'iommufd-compat': '/dev/iommu',
};
const CONTAINER_TYPE: Record<Exclude<IommuMode, 'iommufd'>, number> = {
  type1: VFIO.VFIO_TYPE1_IOMMU,
  type1v2: VFIO.VFIO_TYPE1v2_IOMMU,
  'iommufd-compat': VFIO.VFIO_TYPE1v2_IOMMU,
};

const spaces = new Map<IommuMode, AddressSpace>();

function openSpace(mode: IommuMode): AddressSpace {
  if (mode === 'iommufd') {
    const fd = open('/dev/iommu', O_RDWR);
    try {
      const T = STRUCTS.iommu_ioas_alloc;
      const arg = T.alloc({ size: T.size });
      ioctl(fd, 'IOMMU_IOAS_ALLOC', arg);
      return new IommufdSpace(fd, T.get(arg, 'out_ioas_id'));
    } catch (e) {
      close(fd);
      throw e;
    }
  }
  const fd = open(CONTAINER_PATH[mode], O_RDWR);
  try {
    const version = ioctl(fd, 'VFIO_GET_API_VERSION');
    if (version !== VFIO.VFIO_API_VERSION)
      throw new Error(`${CONTAINER_PATH[mode]} speaks VFIO API ${version}, not ${VFIO.VFIO_API_VERSION}`);
    if (ioctl(fd, 'VFIO_CHECK_EXTENSION', CONTAINER_TYPE[mode]) <= 0)
      throw new Error(`${CONTAINER_PATH[mode]} does not offer the ${mode} IOMMU`);
    return new ContainerSpace(mode, fd, CONTAINER_TYPE[mode]);
  } catch (e) {
    close(fd);
    throw e;
  }
}

/** The process's address space for `mode`, opened on first use. */
export function addressSpace(mode: IommuMode): AddressSpace {
  let space = spaces.get(mode);
  if (!space) {
    space = openSpace(mode);
    spaces.set(mode, space);
  }
  return space;
}

function releaseSpace(space: AddressSpace): void {
  if (spaces.get(space.mode) === space) spaces.delete(space.mode);
  space.close();
}

/** Character device regions the kernel registered: "vfio" (groups), "vfio-dev" (cdevs). */
function charDevices(): Set<string> {
  const text = readText('/proc/devices') ?? '';
  const block = text.split(/\n\s*\n/)[0] ?? '';
  return new Set(
    block
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[1])
      .filter((n): n is string => Boolean(n)),
  );
}

/**
 * The IOMMU modes this kernel offers, found by trying: opening the nodes,
 * VFIO_GET_API_VERSION and VFIO_CHECK_EXTENSION on each container, an IOAS
 * allocation on /dev/iommu, and the char device regions for groups and cdevs.
 */
export function availableIommuModes(): IommuMode[] {
  const devices = charDevices();
  const modes: IommuMode[] = [];
  for (const mode of IOMMU_MODES) {
    if (mode === 'iommufd' ? !devices.has('vfio-dev') : !devices.has('vfio')) continue;
    if (!existsSync(mode === 'iommufd' || mode === 'iommufd-compat' ? '/dev/iommu' : '/dev/vfio/vfio')) continue;
    try {
      openSpace(mode).close();
      modes.push(mode);
    } catch {
      // not offered
    }
  }
  return modes;
}
