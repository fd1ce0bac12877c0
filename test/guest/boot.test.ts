// Booting the QEMU target: both kernels reach the agent and report what they
// really have; a kernel that panics is a failed boot with its excerpt; two
// guests run at once without colliding.

import t, { type Test } from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hello, MachineFacts } from '../../contract/facts.js';
import { featureReport } from '../../orchestrator/kernels/kconfig.js';
import type { Kernel } from '../../orchestrator/kernels/kernels.js';
import { TargetLostError } from '../../orchestrator/targets/target.js';
import { BOOT_DEADLINE_MS, guestPrerequisites, guestSpec, qemuTarget, testRunDir } from './guest.js';

const IGB = '8086:10c9';
const EDU = '1234:11e8';

function checkCapabilities(t: Test, hello: Hello, facts: MachineFacts, kernel: Kernel): void {
  t.ok(kernel.config, 'the kernel configuration is known');
  const has = new Map(featureReport(kernel.config!, Boolean(kernel.modules)).map((f) => [f.feature, f.ok]));
  t.equal(hello.release, kernel.release, 'the guest runs the kernel it was given');
  t.match(hello.bootId, /^[0-9a-f-]{36}$/, 'boot id is a UUID');
  t.equal(hello.disposable, true, 'a lustress guest is disposable');
  t.equal(
    hello.dev.vfioContainer,
    has.get('vfio-type1'),
    '/dev/vfio/vfio exactly when the kernel has the VFIO container',
  );
  t.equal(hello.dev.iommufd, has.get('iommufd'), '/dev/iommu exactly when the kernel has IOMMUFD');
  t.equal(hello.dev.liveupdate, has.get('liveupdate'), '/dev/liveupdate exactly when the kernel has LUO');
  t.match(
    hello.version,
    new RegExp(`^Linux version ${hello.release.replace(/[.+]/g, '\\$&')} `),
    'which build: /proc/version',
  );
  const caps = facts.capabilities;
  const preserves = caps && 'luoPreserves' in caps ? caps.luoPreserves : undefined;
  if (has.get('liveupdate')) {
    // Tried per LUO file handler on this kernel (mainline 7.2 has the memfd handler alone).
    t.equal(preserves?.memfd, 'ok', 'LUO preserves a memfd');
    t.match(preserves?.iommufd, /^E[A-Z]+$/, `an iommufd is refused with an errno (${preserves?.iommufd})`);
    t.match(preserves?.['kvm-vm'], /^not tried: /, 'no KVM in a TCG guest: a VM fd is not tried, and says why');
    t.match(preserves?.['guest-memfd'], /^not tried: /);
    t.match(preserves?.['vfio-device'], /^not tried here /, 'a device fd is tried by the preserve step');
    t.match(preserves?.['memfd-hugetlb'], /^(ok|E[A-Z]+|not tried: .+)$/, 'a hugetlb memfd has a verdict');
  } else t.same(preserves, {}, 'no LUO: nothing tried');
  for (const id of [IGB, EDU]) {
    const fn = facts.pci.find((f) => `${f.vendor}:${f.device}` === id);
    t.ok(fn, `PCI function ${id} is present`);
    t.type(fn?.iommuGroup, 'number', `${id} sits in an IOMMU group (the vIOMMU is on)`);
    t.ok(
      facts.iommuGroups.some((g) => g.group === fn?.iommuGroup && g.devices.includes(fn!.bdf)),
      `${id} is listed in its group`,
    );
  }
}

for (const kernelRef of ['debian', 'live-update']) {
  t.test(`the ${kernelRef} kernel boots to the agent and reports what it has`, async (t) => {
    if (!(await guestPrerequisites(t, [kernelRef]))) return;
    const target = qemuTarget(t, { spec: guestSpec({ kernel: kernelRef }) });
    const hello = await target.start(BOOT_DEADLINE_MS);
    checkCapabilities(t, hello, await target.rpc.request('facts', {}, 60_000), target.firstBoot!.kernel);
    const pong = await target.rpc.request('ping', {}, 10_000);
    t.equal(pong.bootId, hello.bootId, 'ping answers from the same boot');
  });
}

t.test('a kernel that panics at once is a failed boot, with the panic, within its deadline', async (t) => {
  if (!(await guestPrerequisites(t))) return;
  // No init and no root to run one from, whether the kernel boots from an initramfs or the agent root: a panic.
  const target = qemuTarget(t, {
    spec: guestSpec({ kernel: 'live-update', cmdline: 'rdinit=/no/such/init root=/dev/nothing' }),
  });
  const started = Date.now();
  const error = await target.start(BOOT_DEADLINE_MS).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(error, TargetLostError, 'start fails with TargetLostError');
  const lost = error as TargetLostError;
  t.equal(lost.reason, 'panic');
  t.match(lost.message, /Kernel panic - not syncing/);
  t.ok(
    lost.excerpt.some((l) => /Kernel panic/.test(l)),
    'the excerpt holds the panic line',
  );
  t.ok(Date.now() - started < BOOT_DEADLINE_MS, 'reported before the boot deadline');
});

t.test('two guests at once do not collide', async (t) => {
  if (!(await guestPrerequisites(t))) return;
  const runDir = testRunDir(t);
  const a = qemuTarget(t, { runDir, spec: guestSpec({ name: 'a', devices: [{ model: 'edu', count: 1, vfs: 0 }] }) });
  const b = qemuTarget(t, { runDir, spec: guestSpec({ name: 'b', devices: [{ model: 'edu', count: 1, vfs: 0 }] }) });
  const [ha, hb] = await Promise.all([a.start(BOOT_DEADLINE_MS), b.start(BOOT_DEADLINE_MS)]);
  t.not(ha.bootId, hb.bootId, 'two different boots');
  const [pa, pb] = await Promise.all([a.rpc.request('ping', {}, 10_000), b.rpc.request('ping', {}, 10_000)]);
  t.equal(pa.bootId, ha.bootId, 'a answers on its own channel');
  t.equal(pb.bootId, hb.bootId, 'b answers on its own channel');
  for (const name of ['a', 'b']) {
    const file = join(runDir, `console-${name}.log`);
    t.ok(
      existsSync(file) && readFileSync(file, 'utf8').includes('starting the agent'),
      `console-${name}.log is its own`,
    );
  }
});
