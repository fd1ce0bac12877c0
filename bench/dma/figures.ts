// What bench/dma's guest half measures and hands back to the host half as JSON.

export interface Timings {
  size: number;
  count: number;
  stormUs: number[];
  msiUs: number[];
}

/** The drivers of ours measured, each on the guest's first device of its QEMU model. */
export const MEASURED = ['igb', 'nvme'] as const;
export type Measured = (typeof MEASURED)[number];

export interface DmaFigures {
  bdfs: Record<Measured, string>;
  mode: string;
  /** Per round: ours on each device, then the C reference on igb, each storms and MSIs in a fresh device open. */
  rounds: ({ reference: Timings } & Record<Measured, Timings>)[];
  /** vfio_pci_driver_test itself, one variant, all its cases. */
  selftest: { variant: string; fullRun: { exitCode: number | null; ms: number; summary: string } };
}
