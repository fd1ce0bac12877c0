// bench dma: igb memcpy throughput and sendMsi -> eventfd latency of our
// TypeScript driver in a QEMU guest, as ratios to the kernel's own C igb
// driver doing the same work on the same device in the same guest (its
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
import type { DmaFigures } from './guest.js';
import { buildSelftests } from './selftests.js';

const GUEST_SCRIPT = fileURLToPath(new URL('./guest.js', import.meta.url));

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
   * a while, slowly under TCG).
   */
  storms?: number;
  msis?: number;
  log?: (msg: string) => void;
}

export async function dmaBench(opts: DmaBenchOptions = {}): Promise<BenchResult[]> {
  const { kernel = 'live-update', mode = 'iommufd', rounds = 15, storms = 5, msis = 50, log = () => {} } = opts;
  const selftests = await buildSelftests(log);
  const runDir = mkdtempSync(join(tmpdir(), 'lustress-bench-dma-'));
  const spec = { ...defaultTarget([]), kernel, devices: [{ model: 'igb' as const, count: 1, vfs: 0 }] };
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
  const size = figures.rounds[0]!.ours.size;
  const count = figures.rounds[0]!.ours.count;
  // Per round and side: the median of the measured half; the figure is the median over rounds, the ratio the median of
  // the rounds' ratios.
  const perRound = figures.rounds.map(({ ours, reference }) => ({
    oursGbps: (size * count) / median(ours.stormUs.slice(storms)) / 1e3, // bytes per µs / 1e3 = GB/s
    refGbps: (size * count) / median(reference.stormUs.slice(storms)) / 1e3,
    oursMsi: median(ours.msiUs.slice(msis)),
    refMsi: median(reference.msiUs.slice(msis)),
  }));
  const pick = (f: (r: (typeof perRound)[number]) => number) => median(perRound.map(f));
  const spread = (f: (r: (typeof perRound)[number]) => number) =>
    `${Math.min(...perRound.map(f)).toFixed(2)}..${Math.max(...perRound.map(f)).toFixed(2)}`;
  const setting = `${kernel} kernel, ${mode}, igb ${figures.bdf}; vfio_pci_driver_test -v ${figures.selftest.variant} there: exit ${figures.selftest.fullRun.exitCode} in ${(figures.selftest.fullRun.ms / 1000).toFixed(1)} s`;
  return [
    {
      name: 'dma igb memcpy throughput',
      value: pick((r) => r.oursGbps),
      unit: 'GB/s',
      reference: pick((r) => r.refGbps),
      ratio: pick((r) => r.oursGbps / r.refGbps),
      note: `${rounds} rounds of ${storms} storms of ${count} x ${size} B (after ${storms} unmeasured) per side, memcpyStart to memcpyWait; reference: the kernel's C igb driver (its selftest library, bench/dma/reference.c) doing the same in the same guest, alternating with ours; ratio per round ${spread((r) => r.oursGbps / r.refGbps)}; ${setting}`,
    },
    {
      name: 'dma igb sendMsi to eventfd latency',
      value: pick((r) => r.oursMsi),
      unit: 'us',
      reference: pick((r) => r.refMsi),
      ratio: pick((r) => r.oursMsi / r.refMsi),
      note: `${rounds} rounds of ${msis} (after ${msis} unmeasured); ours: sendMsi (a koffi store to EICS through the BAR mmap) until msiCount returns the count; reference: the C driver's send_msi until a blocking read of the eventfd returns; lower is better; ratio per round ${spread((r) => r.oursMsi / r.refMsi)}`,
    },
  ];
}
