// The orchestrator's judgement of a preserved device's way through a live
// update (the posted VFIO series' uAPI rules), the copy canary's verdicts,
// and the checker's rules for a scenario that preserves a device. The flow
// itself needs a kernel with the series; these are what the orchestrator
// decides from the agent's answers, with answers of every kind.

import t from 'tap';
import type { DeviceRetrieval } from '../../contract/agent.js';
import { checkScenarioText } from '../../orchestrator/scenario/load.js';
import { judgeRetrieval, retrieveVerdict } from '../../orchestrator/steps/retrieve.js';
import { judgeCopy } from '../../orchestrator/steps/verify.js';

const good: DeviceRetrieval = {
  device: 'nic',
  bdf: '0000:01:00.0',
  finishBefore: 'EBUSY',
  cdevBefore: 'EBUSY',
  file: 'anon_inode:[vfio-device-liveupdate]',
  busMaster: false,
  iovas: { mem: '0x100000000' },
  bound: {
    bdf: '0000:01:00.0',
    group: 3,
    vfioDriver: 'vfio-pci',
    driver: 'igb',
    iommu: 'iommufd',
    maxMemcpySize: 1024,
    maxMemcpyCount: 4095,
  },
};

t.test('a device taken back by every rule of the uAPI passes, and the verdict names what the kernel did', async (t) => {
  const frozen = judgeRetrieval(good, { device: 'nic', bytesDone: 4096, batches: 1 });
  t.same(frozen.problems, []);
  t.match(frozen.did, /nic \(0000:01:00\.0\) was frozen and reset at the reboot \(VFIO phase 1\): bus mastering off/);
  t.match(frozen.did, /the copy in flight at the exec \(it had moved 4096 bytes\) was dropped, as the design says/);
  const kept = judgeRetrieval({ ...good, busMaster: true }, undefined);
  t.same(kept.problems, []);
  t.match(kept.did, /kept bus mastering through the reboot: the kernel preserved its DMA path/);
  t.notMatch(kept.did, /in flight/, 'no copy was in flight: none is mentioned');
});

t.test('each broken rule is named', async (t) => {
  const cases: [Partial<DeviceRetrieval>, RegExp][] = [
    [{ finishBefore: 'accepted' }, /FINISH succeeded while device nic was still in the session/],
    [{ cdevBefore: 'opened' }, /opening nic's cdev before RETRIEVE_FD succeeded; the uAPI says EBUSY/],
    [{ cdevBefore: 'ENODEV' }, /gave ENODEV, not EBUSY$/],
    [{ cdevBefore: 'no cdev' }, /gave no cdev, not EBUSY \(it has no \/dev\/vfio\/devices node after the reboot\)/],
    [{ file: '/dev/vfio/devices/vfio0' }, /gave \/dev\/vfio\/devices\/vfio0, not the anonymous-inode VFIO device file/],
  ];
  for (const [broken, message] of cases) {
    const { problems } = judgeRetrieval({ ...good, ...broken }, undefined);
    t.equal(problems.length, 1, JSON.stringify(broken));
    t.match(problems[0], message);
  }
  t.equal(judgeRetrieval({ ...good, finishBefore: 'accepted', cdevBefore: 'opened' }, undefined).problems.length, 2);
});

t.test(
  'the retrieve step: a broken rule fails it, a device the kernel did not take SKIPs it, else it passes',
  async (t) => {
    const none = new Map<string, string>();
    t.same(retrieveVerdict([good], none, [], {}).fail, undefined);
    t.same(retrieveVerdict([good], none, [], {}).skip, undefined);
    t.match(retrieveVerdict([good], none, [], {}).detail, { kernelDid: [/frozen and reset/] });
    t.match(retrieveVerdict([{ ...good, finishBefore: 'accepted' }], none, [], {}).fail, /FINISH succeeded/);
    const refused = new Map([['nic', 'vfio-device fd of nic (ENOENT)']]);
    const skipped = retrieveVerdict([], refused, [], { buffers: ['mem'] });
    t.equal(
      skipped.skip,
      'the buffers came back; not preserved by this kernel, so not retrieved: device nic: vfio-device fd of nic (ENOENT)',
    );
    t.same(skipped.detail, { buffers: ['mem'] });
    t.match(
      retrieveVerdict([{ ...good, cdevBefore: 'opened' }], refused, [], {}).fail,
      /cdev/,
      'a broken rule fails the step even when another device was refused',
    );
  },
);

t.test(
  'the copy canary: late pages fail with where they are, no copy at all cannot tell, copies before pass',
  async (t) => {
    const at = 'its rewrite at the last moment before the kexec-exec at steps[9]';
    t.equal(judgeCopy('dst', 'src', at, { untouchedPages: 10, copiedPages: 5, latePages: 0, late: [] }), undefined);
    t.equal(
      judgeCopy('dst', 'src', at, {
        untouchedPages: 0,
        copiedPages: 1,
        latePages: 3,
        late: [
          { offset: 0x2000, length: 8192 },
          { offset: 0x9000, length: 4096 },
        ],
      }),
      `buffer dst: 3 page(s) hold src as written by ${at}: DMA landed after it (at 0x2000+8192, 0x9000+4096)`,
    );
    t.match(
      judgeCopy('dst', 'src', at, {
        untouchedPages: 0,
        copiedPages: 0,
        latePages: 40,
        late: [{ offset: 0, length: 4096 }],
      }),
      /\(at 0x0\+4096, \.\.\.\)$/,
      'runs not listed are said to exist',
    );
    t.match(
      judgeCopy('dst', 'src', at, { untouchedPages: 16, copiedPages: 0, latePages: 0, late: [] }),
      /no page holds a copy of src \(16 untouched\): the canary cannot tell/,
    );
  },
);

const scenario = (...steps: string[]) =>
  [
    'version: 1',
    'devices:',
    '  nic: { id: "8086:10c9", driver: igb, iommu: iommufd }',
    'buffers:',
    '  src: { size: 4KiB }',
    '  dst: { size: 4KiB }',
    'steps:',
    '  - bind: { device: nic }',
    '  - map: { device: nic, buffers: [src, dst], iova: 4GiB }',
    '  - fill: { buffers: [src, dst] }',
    '  - preserve: { session: s, buffers: [src, dst], devices: [nic] }',
    '  - kexec-load:',
    '  - kexec-exec:',
    ...steps.map((s) => `  - ${s}`),
    '',
  ].join('\n');

t.test(
  'after its retrieve a preserved device is bound with its pinned buffers mapped; before it, it is not',
  async (t) => {
    const ok = checkScenarioText(
      'device.yaml',
      scenario(
        'retrieve: { session: s }',
        'memcpy-start: { device: nic, from: src, to: dst }',
        'memcpy-wait: { device: nic }',
        'verify: { buffers: [dst], pattern: src }',
        'finish: { session: s }',
      ),
    );
    t.ok(ok.ok, ok.ok ? 'checks' : ok.problems.map((p) => p.message).join('; '));
    const early = checkScenarioText('device.yaml', scenario('memcpy-start: { device: nic, from: src, to: dst }'));
    t.notOk(early.ok);
    if (!early.ok)
      t.match(early.problems[0], {
        line: 14,
        message: /device "nic" is not bound since the reboot at steps\[5\]; add a bind step before this one/,
      });
    const twice = checkScenarioText('device.yaml', scenario('retrieve: { session: s }', 'bind: { device: nic }'));
    t.notOk(twice.ok, 'the retrieve bound it: a bind of it in the same boot is refused');
    if (!twice.ok) t.match(twice.problems[0], { line: 15, message: /device "nic" is already bound at steps\[6\]/ });
  },
);
