// The VFIO core's public API: what the agent and the drivers use.

export {
  bindToVfio,
  disableSriov,
  enableSriov,
  restoreDriver,
  type BindOptions,
  type Bound,
  type Gated,
} from './bind.js';
export { openVfioDevice, VfioDevice, type DmaTarget, type IrqIndex, type IrqInfo, type OpenOptions } from './device.js';
export { DmaBuffer, HUGE_PAGE_SIZE, type DmaBufferOptions } from './dma-buffer.js';
export { DeviceError } from './errors.js';
export { EventCounter } from './eventfd.js';
export { IommuFaultLog, type IommuFault } from './faults.js';
export { availableIommuModes, type DmaMapping } from './iommu.js';
export { IovaAllocator, type IovaRange } from './iova.js';
export {
  Region,
  RegionMapping,
  barAlignment,
  mappableAreas,
  type RegionInfo,
  type SparseArea,
  type Width,
} from './region.js';
