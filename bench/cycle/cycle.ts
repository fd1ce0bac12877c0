// bench cycle: one orchestrated live-update iteration (preserve, kexec,
// retrieve, verify, finish) against the floor — the kernel's own static LUO
// selftest doing the same round trip as the guest's init — and pattern
// verification against memcmp, both measured in the guest in the same run.

import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveKernel } from '../../orchestrator/kernels/kernels.js';
import { createLogger } from '../../orchestrator/log.js';
import { readJournal } from '../../orchestrator/run/journal.js';
import { runScenario } from '../../orchestrator/run/run.js';
import { checkScenarioText } from '../../orchestrator/scenario/load.js';
import { examplePath, exampleText } from '../../orchestrator/scenario/examples.js';
import { defaultTarget } from '../../orchestrator/scenario/spec.js';
import { PROJECT_DIR } from '../../orchestrator/project.js';
import { QemuTarget } from '../../orchestrator/targets/qemu/qemu.js';
import type { BenchResult } from '../result.js';
import { floorRoundTrip, type FloorTimes } from './floor.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One orchestrated round trip: preserve's start to finish's end, and the blackout's parts the run recorded. */
interface OrchestratedTimes {
  roundTripMs: number;
  kernelMs: number;
  userspaceMs: number;
  firstAnswerMs: number;
}

/** The round trip as the journal recorded it. */
async function orchestratedRoundTrip(dir: string): Promise<OrchestratedTimes> {
  // The same round trip as luo_kexec_simple: a memfd through one live update.
  const text = exampleText('memfd-round-trip');
  const loaded = checkScenarioText(examplePath('memfd-round-trip'), text);
  if (!loaded.ok) throw new Error(loaded.problems[0]!.message);
  const runDir = mkdtempSync(join(dir, 'run-'));
  const summary = await runScenario(loaded.scenario, {
    runDir,
    log: createLogger({ level: 'silent' }),
    out: () => {},
    scenarioText: text,
    keepGoing: false,
  });
  if (summary.verdict !== 'pass') throw new Error(`the cycle scenario did not pass; see ${runDir}`);
  const records = readJournal(runDir);
  const steps = records.filter((r) => r.type === 'step');
  const preserve = steps.find((s) => s.kind === 'preserve')!;
  const finish = steps.find((s) => s.kind === 'finish')!;
  const metrics = records.find((r) => r.type === 'iteration')!.metrics;
  const figure = (v: number | undefined, what: string) => {
    if (v === undefined) throw new Error(`the cycle run recorded no ${what}; see ${runDir}`);
    return v;
  };
  return {
    roundTripMs: finish.startedAt + finish.ms - preserve.startedAt,
    kernelMs: figure(metrics.kernelBlackoutMs, 'kernel blackout'),
    userspaceMs: figure(metrics.userspaceMs, 'user-space start'),
    firstAnswerMs: figure(metrics.firstAnswerMs, 'first answer'),
  };
}

interface VerifySpeed {
  verifyGBps: number;
  memcmpGBps: number;
  freshVerifyGBps: number;
  populatedVerifyGBps: number;
  populatedTotalGBps: number;
  populatedMemcmpGBps: number;
}

async function verifySpeed(dir: string): Promise<VerifySpeed> {
  const runDir = mkdtempSync(join(dir, 'verify-'));
  const target = new QemuTarget({
    spec: { ...defaultTarget([]), devices: [] },
    runDir,
    log: createLogger({ level: 'silent' }),
    hardTimeoutMs: 600_000,
  });
  try {
    await target.start(300_000);
    const r = await target.rpc.request(
      'exec',
      { argv: [process.execPath, join(PROJECT_DIR, 'dist/bench/cycle/verify-speed.js')], timeoutMs: 300_000 },
      310_000,
    );
    if (r.exitCode !== 0) throw new Error(`verify-speed failed in the guest: ${r.stderr}`);
    return JSON.parse(r.stdout);
  } finally {
    await target.stop();
  }
}

export async function cycleBench(opts: { rounds?: number; log: (m: string) => void }): Promise<BenchResult[]> {
  const rounds = opts.rounds ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'lustress-bench-cycle-'));
  mkdirSync(dir, { recursive: true });
  const kernel = await resolveKernel('live-update');
  const floor: FloorTimes[] = [];
  const ours: OrchestratedTimes[] = [];
  for (let i = 0; i < rounds; i++) {
    floor.push(await floorRoundTrip(defaultTarget([]), kernel, opts.log));
    ours.push(await orchestratedRoundTrip(dir));
    opts.log(
      `round ${i + 1}: floor ${(floor[i]!.roundTripMs / 1000).toFixed(1)} s, lustress ${(ours[i]!.roundTripMs / 1000).toFixed(1)} s`,
    );
  }
  const medianOf = <T>(xs: T[], key: (x: T) => number) => median(xs.map(key)) / 1000;
  /** One part of the round trip, lustress's median against the floor's. */
  const part = (name: string, oursS: number, floorS: number, note: string): BenchResult => ({
    name,
    value: oursS,
    unit: 's',
    reference: floorS,
    ratio: oursS / floorS,
    note,
  });
  const speed = await verifySpeed(dir);
  return [
    part(
      'live-update iteration (preserve → kexec → retrieve → verify → finish)',
      medianOf(ours, (o) => o.roundTripMs),
      medianOf(floor, (f) => f.roundTripMs),
      `median of ${rounds}; reference: the kernel's luo_kexec_simple as a static /init on the same kernel and machine (stage 1 start to PASSED); goal <= 1.15`,
    ),
    part(
      "blackout, the kernel's part: exec → the new kernel's init",
      medianOf(ours, (o) => o.kernelMs),
      medianOf(floor, (f) => f.kernelMs),
      "lustress: init's start on the new kernel's uptime clock against the exec answer; floor: init.c's last line before the exec to its first after, as the host saw the console",
    ),
    part(
      'blackout, user space: init → ready to work',
      medianOf(ours, (o) => o.userspaceMs),
      medianOf(floor, (f) => f.userspaceMs),
      `lustress: init to the agent's hello (then ${medianOf(ours, (o) => o.firstAnswerMs).toFixed(2)} s to the first answer); floor: init's first line to the test binary's`,
    ),
    {
      name: 'pattern verification in the guest',
      value: speed.verifyGBps,
      unit: 'GB/s',
      reference: speed.memcmpGBps,
      ratio: speed.verifyGBps / speed.memcmpGBps,
      note: 'reference: memcmp (Buffer.compare) of two equal 256 MiB memfd buffers in the same guest; goal >= 0.8',
    },
    {
      name: 'verification of freshly mapped memory, as a retrieve leaves it (MAP_POPULATE, then verify)',
      value: speed.populatedTotalGBps,
      unit: 'GB/s',
      reference: speed.populatedMemcmpGBps,
      ratio: speed.populatedTotalGBps / speed.populatedMemcmpGBps,
      note: `the mmap with MAP_POPULATE counted in; the verify alone ${speed.populatedVerifyGBps.toFixed(2)} GB/s, a fresh mapping without MAP_POPULATE ${speed.freshVerifyGBps.toFixed(2)} GB/s; reference: memcmp of the same memory freshly mapped the same way (the mmap counted in) against its expected copy, in the same guest (memcmp of memory mapped already: ${speed.memcmpGBps.toFixed(2)} GB/s, ratio ${(speed.populatedTotalGBps / speed.memcmpGBps).toFixed(2)}); goal >= 0.8`,
    },
  ];
}
