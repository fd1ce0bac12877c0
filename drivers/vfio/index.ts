// The VFIO core's public API: what the agent and the drivers use.

export { bindToVfio, disableSriov, enableSriov, restoreDriver, type BindOptions, type Bound, type Disposable } from './bind.js';
export { openVfioDevice, VfioDevice, type DmaTarget, type IrqIndex, type IrqInfo, type OpenOptions } from './device.js';
export { DmaBuffer, HUGE_PAGE_SIZE, type DmaBufferOptions } from './dma-buffer.js';
export { EventCounter } from './eventfd.js';
export { IommuFaultLog, type IommuFault } from './faults.js';
export { IOMMU_MODES, availableIommuModes, type DmaMapping, type IommuMode } from './iommu.js';
export { IovaAllocator, type IovaRange } from './iova.js';
export { SysError } from './libc.js';
export { Region, RegionMapping, barAlignment, mappableAreas, type RegionInfo, type SparseArea, type Width } from './region.js';
export { findPciFunctions, groupViability, iommuGroupOf, sriovState, type GroupViability, type PciSelector } from './sysfs.js';
export { PCI, VFIO } from './uapi.js';
