// The one list of what lustress can drive: its userspace drivers (what each
// claims, its limits, whether it raises MSIs, how it is verified), the IOMMU
// modes a device can be opened in, and the devices QEMU emulates for them.
// The scenario schema's enums are checked against these lists by a unit test;
// `lustress drivers` prints the catalog; drivers/README.md says the same.

export const IOMMU_MODES = ['type1', 'type1v2', 'iommufd-compat', 'iommufd'] as const;
export type IommuMode = (typeof IOMMU_MODES)[number];

export const DRIVER_NAMES = ['igb', 'edu', 'nvme', 'dsa', 'ioat', 'nv_falcon'] as const;
export type DriverName = (typeof DRIVER_NAMES)[number];

export const GUEST_TESTED = 'guest-tested on QEMU';
export const FROM_DOCUMENTATION = 'written from documentation, not yet run on hardware';

export interface DriverInfo {
  title: string;
  /** PCI functions it drives: vendor:device ("10de:*" for any device of the vendor). */
  claims: readonly { id: string; what: string }[];
  /** PCI class codes (hex, 6 digits) it drives whatever the vendor: NVMe controllers are found by class. */
  classes?: readonly string[];
  limits: string;
  /** How it raises its MSI, or undefined: MSI steps on it are SKIPped with the reason. */
  msi: string | undefined;
  verification: typeof GUEST_TESTED | typeof FROM_DOCUMENTATION;
}

export const DRIVER_CATALOG: Record<DriverName, DriverInfo> = {
  igb: {
    title: 'Intel 82576 Gigabit Ethernet: copies as frames through MAC loopback',
    claims: [{ id: '8086:10c9', what: '82576 (PF)' }],
    limits: '60 to 1024 bytes a copy, 4095 copies (one ring)',
    msi: 'MSI-X vector 0, raised through EICS',
    verification: GUEST_TESTED,
  },
  edu: {
    title: "QEMU's educational device: its DMA engine through a 4 KiB buffer",
    claims: [{ id: '1234:11e8', what: 'QEMU edu' }],
    limits: '1 to 4096 bytes a copy, 1024 copies, IOVAs below 256 MiB (28-bit DMA mask)',
    msi: 'MSI vector 0, raised through the raise-interrupt register',
    verification: GUEST_TESTED,
  },
  nvme: {
    title: 'NVM Express controller: copies as Write then Read through a scratch LBA range',
    claims: [{ id: '1b36:0010', what: 'QEMU NVMe' }],
    classes: ['010802'],
    limits: "from the controller's MDTS, the I/O queue depth and the scratch range (QEMU: 512 KiB a copy, 255 copies)",
    msi: 'MSI-X vector 1: a Flush on an I/O queue whose completions interrupt',
    verification: GUEST_TESTED,
  },
  dsa: {
    title: 'Intel Data Streaming Accelerator: memory-move descriptors on a dedicated work queue',
    claims: [
      { id: '8086:0b25', what: 'DSA (Sapphire Rapids)' },
      { id: '8086:11fb', what: 'DSA (Granite Rapids-D)' },
      { id: '8086:1212', what: 'DSA (Diamond Rapids)' },
    ],
    limits: 'from GENCAP (2^max_xfer_shift bytes a copy) and WQCAP (batches of up to 1024 copies, 32 at once)',
    msi: 'MSI-X vector 1: a memory move whose completion requests an interrupt',
    verification: FROM_DOCUMENTATION,
  },
  ioat: {
    title: 'Intel I/OAT DMA engine: copy descriptors on a channel ring',
    claims: [{ id: '8086:2021', what: 'I/OAT (Skylake-SP)' }],
    limits: 'from XFERCAP (2^n bytes a copy); 65535 copies (the 16-bit DMACOUNT)',
    msi: 'MSI-X vector 0: a descriptor with its interrupt-on-completion bit',
    verification: FROM_DOCUMENTATION,
  },
  nv_falcon: {
    title: "NVIDIA GPU (Kepler to Hopper) through a Falcon microcontroller's DMA engine, asynchronous",
    claims: [{ id: '10de:*', what: 'NVIDIA GPUs whose PMC_BOOT_0 names a supported architecture' }],
    limits:
      'copies of 4-byte multiples up to 64 KiB, 64 (4 MiB) a batch, each split into DMA transfers of 4 to 256 bytes',
    msi: undefined,
    verification: FROM_DOCUMENTATION,
  },
};

/** The driver that claims a function with this vendor:device (hex) and, optionally, class code. */
export function driverClaiming(id: string, pciClass?: string): DriverName | undefined {
  const [vendor] = id.toLowerCase().split(':');
  return DRIVER_NAMES.find((name) => {
    const info = DRIVER_CATALOG[name];
    return (
      info.claims.some((c) => c.id === id.toLowerCase() || c.id === `${vendor}:*`) ||
      (pciClass !== undefined && (info.classes ?? []).includes(pciClass.toLowerCase().replace(/^0x/, '')))
    );
  });
}

/** Devices a QEMU target can emulate, and the driver each is for. */
export const QEMU_MODELS = {
  igb: { driver: 'igb', id: '8086:10c9' },
  edu: { driver: 'edu', id: '1234:11e8' },
  nvme: { driver: 'nvme', id: '1b36:0010' },
} as const satisfies Record<string, { driver: DriverName; id: string }>;
export type QemuModel = keyof typeof QEMU_MODELS;

/** The emulated model a driver drives, if QEMU has one. */
export function modelForDriver(driver: DriverName): QemuModel | undefined {
  return (Object.keys(QEMU_MODELS) as QemuModel[]).find((m) => QEMU_MODELS[m].driver === driver);
}
