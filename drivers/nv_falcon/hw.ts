// NVIDIA GPU (Kepler through Hopper) BAR0 registers, bits and chip tables
// the nv_falcon driver uses, from the Linux 7.3 VFIO selftest driver
// (tools/testing/selftests/vfio/lib/drivers/nv_falcon/hw.h and nv_falcon.c).
// Every numeric export is named exactly as its hw.h macro, and every table
// as hw.h's; test/unit/nv-falcon.test.ts compares them with hw.h compiled by
// gcc. NV_FALCON_C holds the facts that are literals in nv_falcon.c.

/** PMC (power management controller): chip id and engine enables. */
export const NV_PMC_BOOT_0 = 0x00000000;
export const NV_PMC_ENABLE = 0x00000200;
export const NV_PMC_ENABLE_PWR = 0x00002000;
export const NV_PMC_ENABLE_HUB = 0x20000000;

/** Falcon base pages. */
export const NV_PPWR_FALCON_BASE = 0x10a000;
export const NV_PGSP_FALCON_BASE = 0x110000;
export const NV_OFA_FALCON_BASE = 0x844000;

/** Per-falcon registers (relative to the base page). */
export const NV_FALCON_DMACTL_OFFSET = 0x010c;
export const NV_FALCON_ENGINE_RESET_OFFSET = 0x03c0;
export const NV_FALCON_DMEMC_OFFSET = 0x1c0;
export const NV_FALCON_CORE_SELECT_OFFSET = 0x1668;
export const NV_FALCON_CORE_SELECT_MASK = 0x30;
export const NV_FALCON_MAILBOX_TEST_OFFSET = 0x40c;
export const NV_FALCON_MAILBOX_RESET_MAGIC = 0xbadf5620;

/** DMACTL bits: DMEM scrubbing, and the two that must read 0 before the falcon takes DMA. */
export const NV_FALCON_DMACTL_DMEM_SCRUBBING = 0x1;
export const NV_FALCON_DMACTL_READY_MASK = 0x6;

/** DMA transfer registers (relative to the base page); the top address bits are one global register. */
export const NV_FALCON_DMA_ADDR_LOW_OFFSET = 0x110;
export const NV_FALCON_DMA_MEM_OFFSET = 0x114;
export const NV_FALCON_DMA_CMD_OFFSET = 0x118;
export const NV_FALCON_DMA_BLOCK_OFFSET = 0x11c;
export const NV_FALCON_DMA_ADDR_HIGH_OFFSET = 0x128;
export const NV_GPU_DMA_ADDR_TOP_BITS_REG = 0x100f04;

/** DMA command word: size code (log2(size) - 2) at bit 8, direction, and the done (idle) bit the CPU polls. */
export const NV_FALCON_DMA_CMD_WRITE_BIT = 0x20;
export const NV_FALCON_DMA_CMD_SIZE_SHIFT = 8;
export const NV_FALCON_DMA_CMD_DONE_BIT = 0x2;

/** One transfer moves a power of two of 4..256 bytes and never crosses a 256-byte block. */
export const NV_FALCON_DMA_MIN_TRANSFER_SIZE = 4;
export const NV_FALCON_DMA_MAX_TRANSFER_SIZE = 256;
export const NV_FALCON_DMA_BLOCK_SIZE = 256;

/** FBIF (frame buffer interface) registers per falcon kind, relative to its base page. */
export const NV_PMU_LEGACY_FBIF_CTL_OFFSET = 0x624;
export const NV_PMU_LEGACY_FBIF_TRANSCFG_OFFSET = 0x600;
export const NV_PMU_FBIF_CTL_OFFSET = 0xe24;
export const NV_PMU_FBIF_TRANSCFG_OFFSET = 0xe00;
export const NV_GSP_FBIF_CTL_OFFSET = 0x624;
export const NV_GSP_FBIF_TRANSCFG_OFFSET = 0x600;
export const NV_OFA_FBIF_CTL_OFFSET = 0x424;
export const NV_OFA_FBIF_TRANSCFG_OFFSET = 0x400;
/** CTL2 sits this far after CTL. */
export const NV_FBIF_CTL2_OFFSET = 0x60;

/** FBIF bits: the target of DMA (system memory), and physical addressing allowed. */
export const NV_FBIF_TRANSCFG_TARGET_MASK = 0x3;
export const NV_FBIF_TRANSCFG_SYSMEM_DEFAULT = 0x5;
export const NV_FBIF_CTL_ALLOW_PHYS_MODE = 0x10;
export const NV_FBIF_CTL_ALLOW_FULL_PHYS_MODE = 0x80;

/** Boot and memory scrubbing status (Turing and later). */
export const NV_MEM_CLEAR_OFFSET = 0x100b20;
export const NV_BOOT_COMPLETE_OFFSET = 0x118234;
export const NV_BOOT_COMPLETE_SUCCESS = 0x3ff;
export const NV_FSP_BOOT_COMPLETE_OFFSET = 0x200bc;
export const NV_FSP_BOOT_COMPLETE_SUCCESS = 0xff;

/** Reads as 0xbadf.... while Hopper's OFA falcon may not do DMA (firmware without FBDMA). */
export const NV_OFA_DMA_SUPPORT_CHECK_REG = 0x8443c0;

/** Hopper's FSP: its RPC channel 2 in EMEM, reached through EMEM port 2 and the channel's queue registers. */
export const NV_FSP_FALCON_BASE_PAGE = 0x8f0000;
export const NV_FSP_EMEM_BASE = 0x8f2000;
export const NV_FSP_EMEMC_OFFSET = 0xac0;
export const NV_FSP_EMEMD_OFFSET = 0xac4;
export const NV_FSP_EMEM_PORT_STRIDE = 0x8;
export const NV_FALCON_EMEMC_AINCR = 0x01000000;
export const NV_FALCON_EMEMC_AINCW = 0x02000000;
export const NV_FSP_RPC_CHANNEL_SIZE = 1024;
export const NV_FSP_RPC_CHANNEL_HOPPER = 2;
export const NV_FSP_RPC_EMEM_BASE = NV_FSP_RPC_CHANNEL_HOPPER * NV_FSP_RPC_CHANNEL_SIZE;
export const NV_FSP_EMEM_PORT2_CTRL =
  NV_FSP_EMEM_BASE + NV_FSP_EMEMC_OFFSET + NV_FSP_RPC_CHANNEL_HOPPER * NV_FSP_EMEM_PORT_STRIDE;
export const NV_FSP_EMEM_PORT2_DATA =
  NV_FSP_EMEM_BASE + NV_FSP_EMEMD_OFFSET + NV_FSP_RPC_CHANNEL_HOPPER * NV_FSP_EMEM_PORT_STRIDE;
export const NV_FALCON_QUEUE_HEAD_BASE_OFFSET = 0x2c00;
export const NV_FALCON_QUEUE_TAIL_BASE_OFFSET = 0x2c04;
export const NV_FALCON_QUEUE_STRIDE = 0x8;
export const NV_FALCON_MSG_QUEUE_HEAD_BASE_OFFSET = 0x2c80;
export const NV_FALCON_MSG_QUEUE_TAIL_BASE_OFFSET = 0x2c84;
export const NV_FSP_QUEUE_HEAD =
  NV_FSP_FALCON_BASE_PAGE + NV_FALCON_QUEUE_HEAD_BASE_OFFSET + NV_FSP_RPC_CHANNEL_HOPPER * NV_FALCON_QUEUE_STRIDE;
export const NV_FSP_QUEUE_TAIL =
  NV_FSP_FALCON_BASE_PAGE + NV_FALCON_QUEUE_TAIL_BASE_OFFSET + NV_FSP_RPC_CHANNEL_HOPPER * NV_FALCON_QUEUE_STRIDE;
export const NV_FSP_MSG_QUEUE_HEAD =
  NV_FSP_FALCON_BASE_PAGE + NV_FALCON_MSG_QUEUE_HEAD_BASE_OFFSET + NV_FSP_RPC_CHANNEL_HOPPER * NV_FALCON_QUEUE_STRIDE;
export const NV_FSP_MSG_QUEUE_TAIL =
  NV_FSP_FALCON_BASE_PAGE + NV_FALCON_MSG_QUEUE_TAIL_BASE_OFFSET + NV_FSP_RPC_CHANNEL_HOPPER * NV_FALCON_QUEUE_STRIDE;

/** MCTP transport header (start and end of message) and message header (NVIDIA vendor-defined, NVDM type). */
export const NV_MCTP_HDR_EOM_BIT = 0x40000000;
export const NV_MCTP_HDR_SOM_BIT = 0x80000000;
export const NV_MCTP_MSG_TYPE_SHIFT = 0;
export const NV_MCTP_MSG_TYPE_MASK = 0x7f;
export const NV_MCTP_MSG_TYPE_VENDOR_DEFINED = 0x7e;
export const NV_MCTP_MSG_VENDOR_ID_SHIFT = 8;
export const NV_MCTP_MSG_VENDOR_ID_MASK = 0xffff;
export const NV_MCTP_MSG_VENDOR_ID_NVIDIA = 0x10de;
export const NV_MCTP_MSG_NVDM_TYPE_SHIFT = 24;
export const NV_MCTP_MSG_NVDM_TYPE_MASK = 0xff;

/** NVDM: the response type, the FBDMA command and its enable subcommand, the shortest valid response. */
export const NV_NVDM_TYPE_RESPONSE = 0x15;
export const NV_NVDM_TYPE_FBDMA = 0x22;
export const NV_FBDMA_SUBCMD_ENABLE = 0x1;
export const NV_FSP_RPC_MIN_RESPONSE_WORDS = 5;

/** hw.h's enum gpu_arch (C names GPU_ARCH_<key>); the order matters: nv_falcon.c compares against HOPPER. */
export const GPU_ARCH = {
  KEPLER: 0,
  MAXWELL_GEN1: 1,
  MAXWELL_GEN2: 2,
  PASCAL: 3,
  PASCAL_10X: 4,
  VOLTA: 5,
  TURING: 6,
  AMPERE: 7,
  ADA: 8,
  HOPPER: 9,
} as const;
export type GpuArch = keyof typeof GPU_ARCH;

/** hw.h's enum falcon_type (C names FALCON_TYPE_<key>). */
export const FALCON_TYPE = { PMU_LEGACY: 0, PMU: 1, GSP: 2, OFA: 3 } as const;
export type FalconType = keyof typeof FALCON_TYPE;

/** hw.h's struct gpu_properties. */
export interface GpuProperties {
  /** PMC_ENABLE bits that enable the falcon; 0: it is enabled by deasserting its engine reset instead. */
  pmcEnableMask: number;
  /** Whether to wait for boot and memory scrubbing to complete first. */
  memoryClearSupported: boolean;
  falconType: FalconType;
}

/** hw.h's gpu_properties_map. */
export const GPU_PROPERTIES: Readonly<Record<GpuArch, GpuProperties>> = {
  KEPLER: {
    pmcEnableMask: NV_PMC_ENABLE_PWR | NV_PMC_ENABLE_HUB,
    memoryClearSupported: false,
    falconType: 'PMU_LEGACY',
  },
  MAXWELL_GEN1: {
    pmcEnableMask: NV_PMC_ENABLE_PWR | NV_PMC_ENABLE_HUB,
    memoryClearSupported: false,
    falconType: 'PMU_LEGACY',
  },
  MAXWELL_GEN2: { pmcEnableMask: NV_PMC_ENABLE_PWR, memoryClearSupported: false, falconType: 'PMU' },
  PASCAL: { pmcEnableMask: NV_PMC_ENABLE_PWR, memoryClearSupported: false, falconType: 'PMU' },
  PASCAL_10X: { pmcEnableMask: 0, memoryClearSupported: false, falconType: 'PMU' },
  VOLTA: { pmcEnableMask: 0, memoryClearSupported: false, falconType: 'GSP' },
  TURING: { pmcEnableMask: 0, memoryClearSupported: true, falconType: 'GSP' },
  AMPERE: { pmcEnableMask: 0, memoryClearSupported: true, falconType: 'GSP' },
  ADA: { pmcEnableMask: 0, memoryClearSupported: true, falconType: 'PMU' },
  HOPPER: { pmcEnableMask: 0, memoryClearSupported: true, falconType: 'OFA' },
};

/** hw.h's struct falcon, as absolute BAR0 offsets (the data port is not used). */
export interface FalconRegs {
  basePage: number;
  dmactl: number;
  engineReset: number;
  fbifCtl: number;
  fbifCtl2: number;
  fbifTranscfg: number;
  dmemControl: number;
  /** The falcon cannot be reset or enabled from outside (Hopper's OFA). */
  noOutsideReset: boolean;
}

/** One falcon's registers from its base page and its FBIF offsets. */
function falcon(base: number, fbifCtl: number, fbifTranscfg: number, noOutsideReset: boolean): FalconRegs {
  return {
    basePage: base,
    dmactl: base + NV_FALCON_DMACTL_OFFSET,
    engineReset: base + NV_FALCON_ENGINE_RESET_OFFSET,
    fbifCtl: base + fbifCtl,
    fbifCtl2: base + fbifCtl + NV_FBIF_CTL2_OFFSET,
    fbifTranscfg: base + fbifTranscfg,
    dmemControl: base + NV_FALCON_DMEMC_OFFSET,
    noOutsideReset,
  };
}

/** hw.h's falcon_map. */
export const FALCONS: Readonly<Record<FalconType, FalconRegs>> = {
  PMU_LEGACY: falcon(NV_PPWR_FALCON_BASE, NV_PMU_LEGACY_FBIF_CTL_OFFSET, NV_PMU_LEGACY_FBIF_TRANSCFG_OFFSET, false),
  PMU: falcon(NV_PPWR_FALCON_BASE, NV_PMU_FBIF_CTL_OFFSET, NV_PMU_FBIF_TRANSCFG_OFFSET, false),
  GSP: falcon(NV_PGSP_FALCON_BASE, NV_GSP_FBIF_CTL_OFFSET, NV_GSP_FBIF_TRANSCFG_OFFSET, false),
  OFA: falcon(NV_OFA_FALCON_BASE, NV_OFA_FBIF_CTL_OFFSET, NV_OFA_FBIF_TRANSCFG_OFFSET, true),
};

/** hw.h's verified_gpu_map: the PMC_BOOT_0 values the kernel's driver was run on, in its order, with its names. */
export const VERIFIED_GPUS: readonly (readonly [number, string])[] = [
  [0x0e40a0a2, 'K520'],
  [0x0e6000a1, 'GTX660'],
  [0x0e63a0a1, 'K4000'],
  [0x0f22d0a1, 'K80'],
  [0x108000a1, 'GT635'],
  [0x117010a2, 'GTX750'],
  [0x117020a2, 'GTX745'],
  [0x124320a1, 'M60'],
  [0x130000a1, 'P100'],
  [0x134000a1, 'P4'],
  [0x132000a1, 'P40'],
  [0x140000a1, 'V100'],
  [0x164000a1, 'T4'],
  [0xb77000a1, 'A16'],
  [0x170000a1, 'A100'],
  [0xb72000a1, 'A10'],
  [0x180000a1, 'H100'],
  [0x194000a1, 'L4'],
  [0x192000a1, 'L40S'],
];

/** nv_falcon.c's nv_gpu_arch_lookup: the architecture field of PMC_BOOT_0 (bits 28:24) to the architecture. */
export const ARCH_BY_FIELD: Readonly<Record<number, GpuArch>> = {
  0x0e: 'KEPLER',
  0x0f: 'KEPLER',
  0x10: 'KEPLER',
  0x11: 'MAXWELL_GEN1',
  0x12: 'MAXWELL_GEN2',
  0x13: 'PASCAL_10X',
  0x14: 'VOLTA',
  0x16: 'TURING',
  0x17: 'AMPERE',
  0x18: 'HOPPER',
  0x19: 'ADA',
};

/** What each architecture is, for messages. */
export const ARCH_TITLES: Readonly<Record<GpuArch, string>> = {
  KEPLER: 'Kepler',
  MAXWELL_GEN1: 'Maxwell (first generation)',
  MAXWELL_GEN2: 'Maxwell (second generation)',
  PASCAL: 'Pascal (GP100)',
  PASCAL_10X: 'Pascal (GP10x)',
  VOLTA: 'Volta',
  TURING: 'Turing',
  AMPERE: 'Ampere',
  ADA: 'Ada',
  HOPPER: 'Hopper',
};

/** linux/pci_ids.h: the base class of display controllers (VGA 0x0300, 3D 0x0302), which the kernel's probe wants. */
export const PCI_BASE_CLASS_DISPLAY = 0x03;

/** Facts that are literals in nv_falcon.c rather than macros of hw.h. */
export const NV_FALCON_C = {
  /** PMC_BOOT_0's architecture field (bits 28:24) and implementation field (bits 23:20). */
  ARCH_SHIFT: 24,
  ARCH_MASK: 0x1f,
  IMPL_SHIFT: 20,
  IMPL_MASK: 0xf,
  /** Architecture field 0x13 with implementation 0 is GP100 (PASCAL, PMC-enabled); the rest PASCAL_10X. */
  PASCAL_FIELD: 0x13,
  PASCAL_GP100_IMPL: 0,
  /** A DMA address split over the registers: bits 63:47, 46:40, 39:8 and 7:0 (the offset in its block). */
  ADDR_TOP_SHIFT: 47n,
  ADDR_TOP_MASK: 0x1ffffn,
  ADDR_HIGH_SHIFT: 40n,
  ADDR_HIGH_MASK: 0x7fn,
  ADDR_LOW_SHIFT: 8n,
  ADDR_LOW_MASK: 0xffffffffn,
  ADDR_BLOCK_MASK: 0xffn,
  /** The DMEM offset every transfer stages through. */
  DMEM_STAGING: 0,
  /** The upper half of NV_OFA_DMA_SUPPORT_CHECK_REG when OFA DMA is not available. */
  OFA_UNSUPPORTED_TAG: 0xbadf,
  /** Longest FSP response read back, in words (its receive buffer). */
  FSP_RESPONSE_MAX_WORDS: 256,
  /** Poll deadlines, in ms. */
  DMA_DONE_TIMEOUT_MS: 1000,
  DMACTL_READY_TIMEOUT_MS: 1000,
  BOOT_TIMEOUT_MS: 5000,
  MEMORY_CLEAR_TIMEOUT_MS: 5000,
  FSP_BOOT_TIMEOUT_MS: 5000,
  FSP_QUEUE_EMPTY_TIMEOUT_MS: 1000,
  FSP_RESPONSE_TIMEOUT_MS: 5000,
  FSP_DRAIN_TIMEOUT_MS: 5000,
} as const;
