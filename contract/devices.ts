// The one list of what lustress can drive: its userspace drivers, the IOMMU
// modes a device can be opened in, and the devices QEMU emulates for them.
// The scenario schema's enums are checked against these lists by a unit test.

export const IOMMU_MODES = ['type1', 'type1v2', 'iommufd-compat', 'iommufd'] as const;
export type IommuMode = (typeof IOMMU_MODES)[number];

export const DRIVER_NAMES = ['igb', 'edu'] as const;
export type DriverName = (typeof DRIVER_NAMES)[number];

/** Devices a QEMU target can emulate, and the driver each is for. */
export const QEMU_MODELS = {
  igb: { driver: 'igb', id: '8086:10c9' },
  edu: { driver: 'edu', id: '1234:11e8' },
  nvme: { driver: undefined, id: undefined },
} as const satisfies Record<string, { driver: DriverName | undefined; id: string | undefined }>;
export type QemuModel = keyof typeof QEMU_MODELS;

/** The emulated model a driver drives, if QEMU has one. */
export function modelForDriver(driver: DriverName): QemuModel | undefined {
  return (Object.keys(QEMU_MODELS) as QemuModel[]).find((m) => QEMU_MODELS[m].driver === driver);
}
