// Intel 82576 (igb) registers and bits this driver uses, from the 82576
// datasheet as the kernel's e1000 headers name them. Queue registers are
// queue 0's.

export const REG = {
  CTRL: 0x00000,
  STATUS: 0x00008,
  EECD: 0x00010,
  CTRL_EXT: 0x00018,
  MDIC: 0x00020,
  IMC: 0x000d8,
  RCTL: 0x00100,
  TCTL: 0x00400,
  GPIE: 0x01514,
  EICS: 0x01520,
  EIMS: 0x01524,
  EIMC: 0x01528,
  EIAC: 0x0152c,
  EICR: 0x01580,
  IVAR0: 0x01700,
  SRRCTL0: 0x0280c,
  GCR: 0x05b00,
} as const;

/** A descriptor ring's registers: base (low, high), length in bytes, head, tail, queue control. */
export interface RingRegs {
  BAL: number;
  BAH: number;
  LEN: number;
  HEAD: number;
  TAIL: number;
  CTL: number;
}

export const RX_RING0: RingRegs = {
  BAL: 0x02800,
  BAH: 0x02804,
  LEN: 0x02808,
  HEAD: 0x02810,
  TAIL: 0x02818,
  CTL: 0x02828,
};
export const TX_RING0: RingRegs = {
  BAL: 0x03800,
  BAH: 0x03804,
  LEN: 0x03808,
  HEAD: 0x03810,
  TAIL: 0x03818,
  CTL: 0x03828,
};

export const CTRL_FD = 0x00000001;
export const CTRL_SLU = 0x00000040;
export const CTRL_SPD_SEL = 0x00000300;
export const CTRL_SPD_1000 = 0x00000200;
export const CTRL_FRCSPD = 0x00000800;
export const CTRL_FRCDPX = 0x00001000;
export const CTRL_RST = 0x04000000;
export const CTRL_EXT_LINK_MODE_MASK = 0x00c00000;
export const CTRL_EXT_DRV_LOAD = 0x10000000;
export const STATUS_LU = 0x00000002;
export const EECD_AUTO_RD = 0x00000200;
export const MDIC_REG_SHIFT = 16;
export const MDIC_PHY_SHIFT = 21;
export const MDIC_OP_WRITE = 0x04000000;
export const MDIC_READY = 0x10000000;
export const MDIC_ERROR = 0x40000000;
export const RCTL_EN = 0x00000002;
export const RCTL_UPE = 0x00000008;
export const RCTL_MPE = 0x00000010;
export const RCTL_LBM_MAC = 0x00000040;
export const RCTL_BAM = 0x00008000;
export const RCTL_SECRC = 0x04000000;
export const TCTL_EN = 0x00000002;
export const TCTL_PSP = 0x00000008;
export const GPIE_MSIX_MODE = 0x00000010;
export const GCR_CMPL_TMOUT_RESEND = 0x00010000;
export const SRRCTL_DESCTYPE_ADV_ONEBUF = 0x02000000;
export const QUEUE_ENABLE = 0x02000000; // TXDCTL and RXDCTL
export const ADVTXD_DTYP_DATA = 0x00300000;
export const ADVTXD_DCMD_EOP = 0x01000000;
export const ADVTXD_DCMD_IFCS = 0x02000000;
export const ADVTXD_DCMD_DEXT = 0x20000000;
export const ADVTXD_PAYLEN_SHIFT = 14;
export const RXD_STAT_DD = 0x00000001;
/**
 * Frame errors in the advanced receive write-back's status_error: RXE, CXE,
 * SEQ, SE, CE. Not IPE/TCPE: those judge the payload as an IP packet, and
 * copied data that happens to look like one is not a DMA error.
 */
export const RXDEXT_FRAME_ERRORS = 0x97000000;

/** PHY (MII) control register and bits. */
export const MII_BMCR = 0;
export const BMCR_SPEED1000 = 0x0040;
export const BMCR_FULLDPLX = 0x0100;
export const BMCR_ANRESTART = 0x0200;
export const BMCR_ANENABLE = 0x1000;
export const BMCR_LOOPBACK = 0x4000;
