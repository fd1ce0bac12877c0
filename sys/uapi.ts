// What lustress uses of include/uapi/linux/{vfio,iommufd,pci_regs,liveupdate,kvm}.h
// (Linux 7.2): struct layouts, ioctl numbers, flags. Every name here is the C name
// (in the C case where it is a C identifier), so the layout test can print
// the same name from the real headers and compare.

import { Struct } from './struct.js';

/** _IO(type, nr): VFIO, iommufd and LUO encode neither direction nor size in their ioctl numbers. */
const io = (nr: number, type = 0x3b): number => (type << 8) | nr; // VFIO's type is ';'
/** _IOWR(type, nr, size): KVM encodes both directions and the argument's size. */
const iowr = (type: number, nr: number, size: number): number => ((3 << 30) | (size << 16) | (type << 8) | nr) >>> 0;
const VFIO_BASE = 100;
const LIVEUPDATE_IOCTL_TYPE = 0xba;
const KVMIO = 0xae;

export const IOCTL = {
  VFIO_GET_API_VERSION: io(VFIO_BASE + 0),
  VFIO_CHECK_EXTENSION: io(VFIO_BASE + 1),
  VFIO_SET_IOMMU: io(VFIO_BASE + 2),
  VFIO_GROUP_GET_STATUS: io(VFIO_BASE + 3),
  VFIO_GROUP_SET_CONTAINER: io(VFIO_BASE + 4),
  VFIO_GROUP_UNSET_CONTAINER: io(VFIO_BASE + 5),
  VFIO_GROUP_GET_DEVICE_FD: io(VFIO_BASE + 6),
  VFIO_DEVICE_GET_INFO: io(VFIO_BASE + 7),
  VFIO_DEVICE_GET_REGION_INFO: io(VFIO_BASE + 8),
  VFIO_DEVICE_GET_IRQ_INFO: io(VFIO_BASE + 9),
  VFIO_DEVICE_SET_IRQS: io(VFIO_BASE + 10),
  VFIO_DEVICE_RESET: io(VFIO_BASE + 11),
  VFIO_IOMMU_GET_INFO: io(VFIO_BASE + 12),
  VFIO_IOMMU_MAP_DMA: io(VFIO_BASE + 13),
  VFIO_IOMMU_UNMAP_DMA: io(VFIO_BASE + 14),
  VFIO_DEVICE_FEATURE: io(VFIO_BASE + 17),
  VFIO_DEVICE_BIND_IOMMUFD: io(VFIO_BASE + 18),
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: io(VFIO_BASE + 19),
  VFIO_DEVICE_DETACH_IOMMUFD_PT: io(VFIO_BASE + 20),
  IOMMU_DESTROY: io(0x80),
  IOMMU_IOAS_ALLOC: io(0x81),
  IOMMU_IOAS_IOVA_RANGES: io(0x84),
  IOMMU_IOAS_MAP: io(0x85),
  IOMMU_IOAS_UNMAP: io(0x86),
  LIVEUPDATE_IOCTL_CREATE_SESSION: io(0x00, LIVEUPDATE_IOCTL_TYPE),
  LIVEUPDATE_IOCTL_RETRIEVE_SESSION: io(0x01, LIVEUPDATE_IOCTL_TYPE),
  LIVEUPDATE_SESSION_PRESERVE_FD: io(0x40, LIVEUPDATE_IOCTL_TYPE),
  LIVEUPDATE_SESSION_RETRIEVE_FD: io(0x41, LIVEUPDATE_IOCTL_TYPE),
  LIVEUPDATE_SESSION_FINISH: io(0x42, LIVEUPDATE_IOCTL_TYPE),
  // Only to make files whose preservation LUO may offer (a VM, its guest_memfd); lustress runs no guest of its own.
  KVM_CREATE_VM: io(0x01, KVMIO),
  KVM_CREATE_GUEST_MEMFD: iowr(KVMIO, 0xd4, 64),
} as const;
export type IoctlName = keyof typeof IOCTL;

export const VFIO = {
  VFIO_API_VERSION: 0,
  VFIO_TYPE1_IOMMU: 1,
  VFIO_TYPE1v2_IOMMU: 3,
  VFIO_GROUP_FLAGS_VIABLE: 1 << 0,
  VFIO_GROUP_FLAGS_CONTAINER_SET: 1 << 1,
  VFIO_DEVICE_FLAGS_RESET: 1 << 0,
  VFIO_DEVICE_FLAGS_PCI: 1 << 1,
  VFIO_DEVICE_FLAGS_CAPS: 1 << 7,
  VFIO_REGION_INFO_FLAG_READ: 1 << 0,
  VFIO_REGION_INFO_FLAG_WRITE: 1 << 1,
  VFIO_REGION_INFO_FLAG_MMAP: 1 << 2,
  VFIO_REGION_INFO_FLAG_CAPS: 1 << 3,
  VFIO_REGION_INFO_CAP_SPARSE_MMAP: 1,
  VFIO_REGION_INFO_CAP_TYPE: 2,
  VFIO_REGION_INFO_CAP_MSIX_MAPPABLE: 3,
  VFIO_PCI_BAR0_REGION_INDEX: 0,
  VFIO_PCI_ROM_REGION_INDEX: 6,
  VFIO_PCI_CONFIG_REGION_INDEX: 7,
  VFIO_PCI_VGA_REGION_INDEX: 8,
  VFIO_PCI_INTX_IRQ_INDEX: 0,
  VFIO_PCI_MSI_IRQ_INDEX: 1,
  VFIO_PCI_MSIX_IRQ_INDEX: 2,
  VFIO_PCI_ERR_IRQ_INDEX: 3,
  VFIO_PCI_REQ_IRQ_INDEX: 4,
  VFIO_IRQ_INFO_EVENTFD: 1 << 0,
  VFIO_IRQ_INFO_MASKABLE: 1 << 1,
  VFIO_IRQ_INFO_AUTOMASKED: 1 << 2,
  VFIO_IRQ_INFO_NORESIZE: 1 << 3,
  VFIO_IRQ_SET_DATA_NONE: 1 << 0,
  VFIO_IRQ_SET_DATA_BOOL: 1 << 1,
  VFIO_IRQ_SET_DATA_EVENTFD: 1 << 2,
  VFIO_IRQ_SET_ACTION_MASK: 1 << 3,
  VFIO_IRQ_SET_ACTION_UNMASK: 1 << 4,
  VFIO_IRQ_SET_ACTION_TRIGGER: 1 << 5,
  VFIO_DEVICE_FEATURE_SET: 1 << 17,
  VFIO_DEVICE_FEATURE_PROBE: 1 << 18,
  VFIO_DEVICE_FEATURE_PCI_VF_TOKEN: 0,
  VFIO_DEVICE_BIND_FLAG_TOKEN: 1 << 0,
  VFIO_IOMMU_INFO_PGSIZES: 1 << 0,
  VFIO_IOMMU_INFO_CAPS: 1 << 1,
  VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: 1,
  VFIO_DMA_MAP_FLAG_READ: 1 << 0,
  VFIO_DMA_MAP_FLAG_WRITE: 1 << 1,
  IOMMU_IOAS_MAP_FIXED_IOVA: 1 << 0,
  IOMMU_IOAS_MAP_WRITEABLE: 1 << 1,
  IOMMU_IOAS_MAP_READABLE: 1 << 2,
} as const;

/** From liveupdate.h. */
export const LIVEUPDATE = {
  LIVEUPDATE_SESSION_NAME_LENGTH: 64,
} as const;

/** Config space offsets and bits from pci_regs.h. */
export const PCI = {
  PCI_VENDOR_ID: 0x00,
  PCI_DEVICE_ID: 0x02,
  PCI_COMMAND: 0x04,
  PCI_COMMAND_IO: 0x1,
  PCI_COMMAND_MEMORY: 0x2,
  PCI_COMMAND_MASTER: 0x4,
  PCI_COMMAND_INTX_DISABLE: 0x400,
  PCI_STATUS: 0x06,
  PCI_STATUS_CAP_LIST: 0x10,
  PCI_CLASS_REVISION: 0x08,
  PCI_HEADER_TYPE: 0x0e,
  PCI_CAPABILITY_LIST: 0x34,
  PCI_CAP_LIST_NEXT: 1,
  PCI_CAP_ID_MSI: 0x05,
  PCI_CAP_ID_EXP: 0x10,
  PCI_CAP_ID_MSIX: 0x11,
  PCI_MSI_FLAGS: 2,
  PCI_MSI_FLAGS_ENABLE: 0x0001,
  PCI_MSIX_FLAGS: 2,
  PCI_MSIX_FLAGS_QSIZE: 0x07ff,
  PCI_MSIX_FLAGS_ENABLE: 0x8000,
  PCI_STD_NUM_BARS: 6,
} as const;

const header = { 'header.id': 'u16', 'header.version': 'u16', 'header.next': 'u32' } as const;

export const STRUCTS = {
  vfio_info_cap_header: new Struct('vfio_info_cap_header', { id: 'u16', version: 'u16', next: 'u32' }),
  vfio_group_status: new Struct('vfio_group_status', { argsz: 'u32', flags: 'u32' }),
  vfio_device_info: new Struct('vfio_device_info', {
    argsz: 'u32',
    flags: 'u32',
    num_regions: 'u32',
    num_irqs: 'u32',
    cap_offset: 'u32',
    pad: 'u32',
  }),
  vfio_region_info: new Struct('vfio_region_info', {
    argsz: 'u32',
    flags: 'u32',
    index: 'u32',
    cap_offset: 'u32',
    size: 'u64',
    offset: 'u64',
  }),
  vfio_region_sparse_mmap_area: new Struct('vfio_region_sparse_mmap_area', { offset: 'u64', size: 'u64' }),
  vfio_region_info_cap_sparse_mmap: new Struct('vfio_region_info_cap_sparse_mmap', {
    ...header,
    nr_areas: 'u32',
    reserved: 'u32',
  }),
  vfio_region_info_cap_type: new Struct('vfio_region_info_cap_type', { ...header, type: 'u32', subtype: 'u32' }),
  vfio_irq_info: new Struct('vfio_irq_info', { argsz: 'u32', flags: 'u32', index: 'u32', count: 'u32' }),
  vfio_irq_set: new Struct('vfio_irq_set', { argsz: 'u32', flags: 'u32', index: 'u32', start: 'u32', count: 'u32' }),
  vfio_device_feature: new Struct('vfio_device_feature', { argsz: 'u32', flags: 'u32' }),
  vfio_device_bind_iommufd: new Struct('vfio_device_bind_iommufd', {
    argsz: 'u32',
    flags: 'u32',
    iommufd: 's32',
    out_devid: 'u32',
    token_uuid_ptr: 'u64',
  }),
  vfio_device_attach_iommufd_pt: new Struct('vfio_device_attach_iommufd_pt', {
    argsz: 'u32',
    flags: 'u32',
    pt_id: 'u32',
    pasid: 'u32',
  }),
  vfio_device_detach_iommufd_pt: new Struct('vfio_device_detach_iommufd_pt', {
    argsz: 'u32',
    flags: 'u32',
    pasid: 'u32',
  }),
  vfio_iommu_type1_info: new Struct('vfio_iommu_type1_info', {
    argsz: 'u32',
    flags: 'u32',
    iova_pgsizes: 'u64',
    cap_offset: 'u32',
    pad: 'u32',
  }),
  vfio_iova_range: new Struct('vfio_iova_range', { start: 'u64', end: 'u64' }),
  vfio_iommu_type1_info_cap_iova_range: new Struct('vfio_iommu_type1_info_cap_iova_range', {
    ...header,
    nr_iovas: 'u32',
    reserved: 'u32',
  }),
  vfio_iommu_type1_dma_map: new Struct('vfio_iommu_type1_dma_map', {
    argsz: 'u32',
    flags: 'u32',
    vaddr: 'u64',
    iova: 'u64',
    size: 'u64',
  }),
  vfio_iommu_type1_dma_unmap: new Struct('vfio_iommu_type1_dma_unmap', {
    argsz: 'u32',
    flags: 'u32',
    iova: 'u64',
    size: 'u64',
  }),
  iommu_destroy: new Struct('iommu_destroy', { size: 'u32', id: 'u32' }),
  iommu_ioas_alloc: new Struct('iommu_ioas_alloc', { size: 'u32', flags: 'u32', out_ioas_id: 'u32' }),
  iommu_iova_range: new Struct('iommu_iova_range', { start: 'u64', last: 'u64' }),
  iommu_ioas_iova_ranges: new Struct('iommu_ioas_iova_ranges', {
    size: 'u32',
    ioas_id: 'u32',
    num_iovas: 'u32',
    __reserved: 'u32',
    allowed_iovas: 'u64',
    out_iova_alignment: 'u64',
  }),
  iommu_ioas_map: new Struct('iommu_ioas_map', {
    size: 'u32',
    flags: 'u32',
    ioas_id: 'u32',
    __reserved: 'u32',
    user_va: 'u64',
    length: 'u64',
    iova: 'u64',
  }),
  iommu_ioas_unmap: new Struct('iommu_ioas_unmap', { size: 'u32', ioas_id: 'u32', iova: 'u64', length: 'u64' }),
  liveupdate_ioctl_create_session: new Struct('liveupdate_ioctl_create_session', {
    size: 'u32',
    fd: 's32',
    name: { bytes: LIVEUPDATE.LIVEUPDATE_SESSION_NAME_LENGTH },
  }),
  liveupdate_ioctl_retrieve_session: new Struct('liveupdate_ioctl_retrieve_session', {
    size: 'u32',
    fd: 's32',
    name: { bytes: LIVEUPDATE.LIVEUPDATE_SESSION_NAME_LENGTH },
  }),
  liveupdate_session_preserve_fd: new Struct('liveupdate_session_preserve_fd', {
    size: 'u32',
    fd: 's32',
    token: 'u64',
  }),
  liveupdate_session_retrieve_fd: new Struct('liveupdate_session_retrieve_fd', {
    size: 'u32',
    fd: 's32',
    token: 'u64',
  }),
  liveupdate_session_finish: new Struct('liveupdate_session_finish', { size: 'u32', reserved: 'u32' }),
  kvm_create_guest_memfd: new Struct('kvm_create_guest_memfd', { size: 'u64', flags: 'u64', reserved: { bytes: 48 } }),
} as const;

/**
 * Which header declares each struct (the layout test takes iommufd.h and liveupdate.h from the 7.2 tree; the system's
 * are older).
 */
export const STRUCT_HEADER = (name: keyof typeof STRUCTS): 'vfio.h' | 'iommufd.h' | 'liveupdate.h' | 'kvm.h' =>
  name.startsWith('iommu_')
    ? 'iommufd.h'
    : name.startsWith('liveupdate_')
      ? 'liveupdate.h'
      : name.startsWith('kvm_')
        ? 'kvm.h'
        : 'vfio.h';
