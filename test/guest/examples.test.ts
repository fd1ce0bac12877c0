// The example scenarios pass through the real path — QEMU guest, the
// live-update kernel, the agent over virtio-serial, LUO — run exactly as the
// README says: `lustress run scenarios/NAME.yaml`, no other argument.

import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { readJournal } from '../../orchestrator/run/journal.js';
import type { RunSummary } from '../../orchestrator/run/outcome.js';
import { LUSTRESS_BIN, PROJECT_DIR } from '../../orchestrator/project.js';
import { guestPrerequisites } from './guest.js';

async function runExample(
  t: Test,
  name: string,
): Promise<{ summary: RunSummary; runDir: string; stdout: string } | undefined> {
  if (!(await guestPrerequisites(t, ['live-update']))) return undefined;
  const r = await execa(process.execPath, [LUSTRESS_BIN, 'run', `scenarios/${name}.yaml`], {
    cwd: PROJECT_DIR,
    reject: false,
  });
  t.equal(
    r.exitCode,
    0,
    `lustress run scenarios/${name}.yaml exits 0`,
    r.exitCode === 0 ? {} : { stdout: r.stdout.slice(-6000), stderr: r.stderr.slice(-3000) },
  );
  t.notMatch(r.stdout, /^\s*not ok /m, 'no test point failed');
  const runDir = /records in (\S+) \(/.exec(r.stdout)?.[1];
  t.ok(runDir, 'the report names its run directory');
  if (!runDir) return undefined;
  return { summary: JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')), runDir, stdout: r.stdout };
}

t.test('live-update-memfd: 1 GiB in four memfds survives a live update, page by page', async (t) => {
  const r = await runExample(t, 'live-update-memfd');
  if (!r) return;
  const m = r.summary.iterations[0]!.metrics;
  t.ok((m.verifiedBytes ?? 0) >= 2 ** 30, `verified ${m.verifiedBytes} bytes after the reboot`);
  t.ok(m.blackoutMs! > 0, `blackout ${m.blackoutMs} ms`);
  t.ok(
    m.kernelBlackoutMs! > 0 && m.userspaceMs! > 0,
    `kernel ${m.kernelBlackoutMs} ms, user space ${m.userspaceMs} ms`,
  );
  t.ok(Math.abs(m.kernelBlackoutMs! + m.userspaceMs! - m.blackoutMs!) <= 2, 'the parts add up to the blackout');
  t.ok(m.firstAnswerMs! > 0, `the first step answered ${m.firstAnswerMs} ms after the hello`);
  t.match(r.stdout, /# blackout \d+ ms \(kernel: exec to init \d+ ms; user space: init to hello \d+ ms\)/);
  t.equal(
    readJournal(r.runDir).filter((x) => x.type === 'boot').length,
    2,
    'two boots: before and after the live update',
  );
});

t.test('kexec-dma-msi: igb DMA into a preserved memfd is intact after the kexec, then MSIs arrive', async (t) => {
  const r = await runExample(t, 'kexec-dma-msi');
  if (!r) return;
  const m = r.summary.iterations[0]!.metrics;
  t.ok((m.dmaBytes ?? 0) >= 16 * 2 ** 20, `${m.dmaBytes} bytes copied by the device`);
  t.type(m.msiLatencyMs, 'number', `MSI latency ${m.msiLatencyMs} ms`);
  t.match(r.stdout, /ok \d+ 1\.15 expect-msi nic x10\n/);
});

type Journal = ReturnType<typeof readJournal>;

/** The kexec-exec step's record: the copies still running at the exec, and the buffers rewritten at its last moment. */
function execRecord(records: Journal) {
  return records.find((x) => x.type === 'step' && x.kind === 'kexec-exec') as
    { detail?: { dmaInFlight?: { bytesDone: number }[]; rewrittenAtExec?: string[] } } | undefined;
}

/** What the canary (a copy-of verify after the reboot) found in dst: pages copied before the exec, and late ones. */
function canaryCopy(records: Journal) {
  const canary = records.findLast((x) => x.type === 'step' && x.label === 'canary: no DMA landed after the exec') as
    { detail?: { reports?: { dst?: { copy?: { copiedPages: number; latePages: number } } } } } | undefined;
  return canary?.detail?.reports?.dst?.copy;
}

t.test(
  'dma-inflight-kexec: the exec happens while DMA runs; the canary sees late copies, and none after the exec',
  async (t) => {
    const r = await runExample(t, 'dma-inflight-kexec');
    if (!r) return;
    const records = readJournal(r.runDir);
    const exec = execRecord(records);
    const inFlight = exec?.detail?.dmaInFlight ?? [];
    t.equal(inFlight.length, 1, 'one copy was still running at the exec');
    t.ok((inFlight[0]?.bytesDone ?? 0) > 0, `it had moved ${inFlight[0]?.bytesDone} bytes`);
    t.same(exec?.detail?.rewrittenAtExec, ['src'], 'its source was rewritten at the last moment');
    // The negative control: the same check fails when copies do land after the source's rewrite.
    t.match(
      r.stdout,
      /ok \d+ 1\.7 negative control: the canary sees the copies made after it # failed as expected: buffer dst: \d+ page\(s\) hold src as written by the fill at steps\[4\]: DMA landed after it \(at 0x/,
    );
    t.match(r.stdout, /ok \d+ 1\.13 canary: no DMA landed after the exec\n/);
    const copy = canaryCopy(records);
    t.ok((copy?.copiedPages ?? 0) > 0, `${copy?.copiedPages} page(s) of dst hold copies made before the exec`);
    t.equal(copy?.latePages, 0, 'none holds the last-moment rewrite');
  },
);

t.test(
  'nvme-live-update: NVMe copies in flight at the exec; the source survives, nothing lands late, the controller works again',
  async (t) => {
    const r = await runExample(t, 'nvme-live-update');
    if (!r) return;
    const records = readJournal(r.runDir);
    const bind = records.find((x) => x.type === 'step' && x.kind === 'bind') as
      { detail?: { driver?: string } } | undefined;
    t.equal(bind?.detail?.driver, 'nvme', 'the device chosen by id got the driver that claims it');
    const exec = execRecord(records);
    t.equal(exec?.detail?.dmaInFlight?.length, 1, 'the controller was still copying at the exec');
    t.ok(
      (exec?.detail?.dmaInFlight?.[0]?.bytesDone ?? 0) > 0,
      `it had moved ${exec?.detail?.dmaInFlight?.[0]?.bytesDone} bytes`,
    );
    t.match(r.stdout, /ok \d+ 1\.11 canary: no DMA landed after the exec\n/);
    const copied = canaryCopy(records)?.copiedPages ?? 0;
    t.ok(copied > 0, `${copied} page(s) of dst hold copies the controller made before the exec`);
    t.match(r.stdout, /ok \d+ 1\.18 expect-msi disk x10\n/);
  },
);

t.test(
  'device-live-update: on a kernel without device preservation the device steps SKIP naming the handler; the memory is checked',
  async (t) => {
    const r = await runExample(t, 'device-live-update');
    if (!r) return;
    t.match(r.stdout, /\n {2}# vm: LUO preserves: memfd ok; .*iommufd E[A-Z]+;/, 'the report says what LUO preserves');
    const handler = /vfio-device fd of nic \(this kernel has no LUO handler for vfio-device files: E[A-Z]+\)/;
    const steps = readJournal(r.runDir).filter((x) => x.type === 'step');
    const byStep = (n: number) => steps.find((x) => x.step === n)!;
    t.equal(byStep(5).verdict, 'skip', 'preserve: the device is refused');
    t.match(byStep(5).reason, handler);
    t.equal(byStep(8).verdict, 'skip', 'retrieve: the buffers came back, the device did not');
    t.match(byStep(8).reason, /^the buffers came back; not preserved by this kernel, so not retrieved: device nic: /);
    for (const n of [9, 10, 11]) t.equal(byStep(n).verdict, 'pass', `${byStep(n).label}: checked`);
    for (const n of [12, 13, 14]) {
      t.equal(byStep(n).verdict, 'skip', `${byStep(n).label}: SKIPped`);
      t.match(byStep(n).reason, handler, 'with the reason the device is missing');
    }
    t.ok(
      (r.summary.iterations[0]!.metrics.verifiedBytes ?? 0) >= 2 ** 30,
      'all of src and dst were verified after the reboot',
    );
  },
);
