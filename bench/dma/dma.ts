// bench dma: memcpy throughput and sendMsi -> eventfd latency of our
// TypeScript igb and nvme drivers in a QEMU guest, as ratios to the kernel's
// own C igb driver doing the same work on igb in the same guest (the kernel
// has no NVMe driver of this kind to compare with; its
// selftest library, linked into bench/dma/reference.c: vfio_pci_driver_test
// times nothing, and its storm is one batch inside seconds of fixture set-up
// that mapping 1 GiB costs under TCG). vfio_pci_driver_test itself runs there
// too, and its verdict and time are reported with the figures.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../orchestrator/log.js';
import { defaultTarget } from '../../orchestrator/scenario/spec.js';
import { QemuTarget } from '../../orchestrator/targets/qemu/qemu.js';
import type { BenchResult } from '../result.js';
import { MEASURED, type DmaFigures, type Timings } from './figures.js';
import { buildSelftests } from './selftests.js';

const GUEST_SCRIPT = fileURLToPath(new URL('./guest.js', import.meta.url));
const COLD_SENDS = 50;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export interface DmaBenchOptions {
  kernel?: string;
  mode?: string;
  /** Rounds of ours-then-C; each side re-opens the device every round. */
  rounds?: number;
  /**
   * Storms and MSIs measured per round and side; as many again run first unmeasured (V8 compiles hot paths only after
   * a while, slowly under TCG: the first hundreds of sends of a round run in its interpreter and take 3x as long).
   */
  storms?: number;
  msis?: number;
  log?: (msg: string) => void;
}

export async function dmaBench(opts: DmaBenchOptions = {}): Promise<BenchResult[]> {
  const { kernel = 'live-update', mode = 'iommufd', rounds = 15, storms = 5, msis = 500, log = () => {} } = opts;
  const selftests = await buildSelftests(log);
  const runDir = mkdtempSync(join(tmpdir(), 'lustress-bench-dma-'));
  const devices = MEASURED.map((model) => ({ model, count: 1, vfs: 0 }));
  const spec = { ...defaultTarget([]), kernel, devices };
  const target = new QemuTarget({ spec, runDir, log: createLogger({ level: 'silent' }), hardTimeoutMs: 1_800_000 });
  let figures: DmaFigures;
  try {
    await target.start(300_000);
    const argv = [
      process.execPath,
      GUEST_SCRIPT,
      mode,
      String(rounds),
      String(2 * storms),
      String(2 * msis),
      selftests.driverTest,
      selftests.reference,
    ];
    const r = await target.rpc.request('exec', { argv, timeoutMs: 1_200_000 }, 1_210_000);
    if (r.exitCode !== 0)
      throw new Error(`the DMA benchmark failed in the guest (exit ${r.exitCode}):\n${r.stderr.slice(-4000)}`);
    figures = JSON.parse(r.stdout) as DmaFigures;
  } finally {
    await target.stop();
  }
  // Per round and side: the median of the measured half; the figure is the median over rounds, the ratio the median of
  // the rounds' ratios (so a guest that slows down during the run hits both sides of a ratio alike).
  const gbps = (t: Timings) => (t.size * t.count) / median(t.stormUs.slice(storms)) / 1e3; // bytes per µs / 1e3 = GB/s
  const msiUs = (t: Timings) => median(t.msiUs.slice(msis));
  /** Near what a send-msi step in a fresh agent pays: the first sends of the process, before V8 compiles the path. */
  const coldMsiUs = median(figures.rounds[0]!.igb.msiUs.slice(0, COLD_SENDS));
  const compare = (
    name: string,
    unit: string,
    ours: (r: DmaFigures['rounds'][number]) => number,
    ref: (r: DmaFigures['rounds'][number]) => number,
    note: string,
  ): BenchResult => {
    const ratios = figures.rounds.map((r) => ours(r) / ref(r));
    return {
      name,
      value: median(figures.rounds.map(ours)),
      unit,
      reference: median(figures.rounds.map(ref)),
      ratio: median(ratios),
      note: `${note}; ratio per round ${Math.min(...ratios).toFixed(2)}..${Math.max(...ratios).toFixed(2)}`,
    };
  };
  const batch = (t: Timings) => `${t.count} x ${t.size} B`;
  const first = figures.rounds[0]!;
  const setting = `${kernel} kernel, ${mode}, igb ${figures.bdfs.igb}, nvme ${figures.bdfs.nvme}; vfio_pci_driver_test -v ${figures.selftest.variant} there: exit ${figures.selftest.fullRun.exitCode} in ${(figures.selftest.fullRun.ms / 1000).toFixed(1)} s`;
  const storming = `${rounds} rounds of ${storms} storms (after ${storms} unmeasured) per side, memcpyStart to memcpyWait`;
  const reference = `reference: the kernel's C igb driver (its selftest library, bench/dma/reference.c) doing ${batch(first.reference)} storms on igb in the same guest, alternating with ours`;
  return [
    compare(
      'dma igb memcpy throughput',
      'GB/s',
      (r) => gbps(r.igb),
      (r) => gbps(r.reference),
      `${storming} of ${batch(first.igb)}; ${reference}; ${setting}`,
    ),
    compare(
      'dma igb sendMsi to eventfd latency',
      'us',
      (r) => msiUs(r.igb),
      (r) => msiUs(r.reference),
      `${rounds} rounds of ${msis} (after ${msis} unmeasured; our first ${COLD_SENDS} in the guest process, before V8 compiles the path: ${coldMsiUs.toFixed(1)} us); ours: sendMsi (a typed-array store to EICS through the BAR mmap) until msiTake, or msiCount where none was counted yet, returns the count; reference: the C driver's send_msi until a blocking read of the eventfd returns; lower is better`,
    ),
    compare(
      'dma nvme memcpy throughput',
      'GB/s',
      (r) => gbps(r.nvme),
      (r) => gbps(r.reference),
      `${storming} of ${batch(first.nvme)}, each a Write to a scratch slot then a Read back through QEMU's NVMe emulation; ${reference}`,
    ),
    compare(
      'dma nvme sendMsi to eventfd latency',
      'us',
      (r) => msiUs(r.nvme),
      (r) => msiUs(r.reference),
      `${rounds} rounds of ${msis} (after ${msis} unmeasured); ours: a Flush on the I/O queue whose completions interrupt, until msiTake or msiCount returns the count; reference: the C igb driver's send_msi; lower is better`,
    ),
  ];
}
