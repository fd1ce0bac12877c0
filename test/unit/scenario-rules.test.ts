// Every rule of scenarios/schema.json, each with a scenario that keeps it and
// one that breaks it, and the rules of check.ts the schema cannot express.

import t from 'tap';
import { checkScenarioText } from '../../orchestrator/scenario/load.js';
import { scenarioSchema } from '../../orchestrator/scenario/schema.js';
import { afterPosition, compareProblems, type ExpectedProblem } from './helpers/problems.js';

const lines = (...text: string[]): string => text.join('\n') + '\n';
const indent = (spaces: number, text: string[]): string[] => text.map((l) => ' '.repeat(spaces) + l);

/** `version: 1` on line 1, the given lines from line 2, then a steps list that only sleeps. */
const top = (...body: string[]) => lines('version: 1', ...body, 'steps:', '  - sleep: 1s');

/** A target "vm" whose body starts on line 4, indented by 4 spaces. */
const target = (...body: string[]) =>
  lines('version: 1', 'targets:', '  vm:', ...indent(4, body), 'steps:', '  - sleep: 1s');

/** A device "nic" whose body starts on line 4, indented by 4 spaces; the only step binds it. */
const device = (...body: string[]) =>
  lines('version: 1', 'devices:', '  nic:', ...indent(4, body), 'steps:', '  - bind: { device: nic }');

/** A buffer "buf" whose body starts on line 4, indented by 4 spaces; the only step fills it. */
const buffer = (...body: string[]) =>
  lines('version: 1', 'buffers:', '  buf:', ...indent(4, body), 'steps:', '  - fill: { buffers: [buf] }');

/**
 * The given steps from line 11, after device nic is bound, buffers src and dst (4KiB each) are mapped (pinned at 1 MiB,
 * so nic may be preserved) and filled.
 */
const steps = (...more: string[]) =>
  lines(
    'version: 1',
    'devices:',
    '  nic: { id: "8086:10c9", driver: igb }',
    'buffers:',
    '  src: { size: 4KiB }',
    '  dst: { size: 4KiB }',
    'steps:',
    '  - bind: { device: nic }',
    '  - map: { device: nic, buffers: [src, dst], iova: 1MiB }',
    '  - fill: { buffers: [src, dst] }',
    ...indent(2, more),
  );

/**
 * Steps that reach the boot after a live update with session s (holding src) retrieved; what follows starts on line
 * 15.
 */
const RETRIEVED = [
  '- preserve: { session: s, buffers: [src] }',
  '- kexec-load:',
  '- kexec-exec:',
  '- retrieve: { session: s }',
];

/** A device nic on target vm; the device's `target:` line is line 9. */
const onTarget = (targetLine: string) =>
  lines(
    'version: 1',
    'targets:',
    '  vm:',
    '    local: {}',
    'devices:',
    '  nic:',
    '    id: "8086:10c9"',
    '    driver: igb',
    `    ${targetLine}`,
    'steps:',
    '  - bind: { device: nic }',
  );

const MEMCPY = '- memcpy-start: { device: nic, from: src, to: dst }';

interface Broken {
  yaml: string;
  at: string;
  path: string;
  message: string;
}

interface Rule {
  good: string;
  bad: Broken[];
}

const bad = (yaml: string, at: string, path: string, message: string): Broken => ({ yaml, at, path, message });

/** Keyed by schema path: "a.b" a property, "*" any entry of a mapping, "[]" any item of a list. */
const RULES: Record<string, Rule> = {
  version: {
    good: top(),
    bad: [bad(lines('version: 2', 'steps:', '  - sleep: 1s'), '1:10', 'version', 'expected 1, got number 2')],
  },
  name: {
    good: top('name: soak-1'),
    bad: [
      bad(top('name: Soak 1'), '2:7', 'name', `the string "Soak 1" is not valid: a name is 1 to 63 lowercase letters`),
    ],
  },
  description: {
    good: top('description: what this proves'),
    bad: [bad(top(`description: ${'x'.repeat(4097)}`), '2:14', 'description', 'is longer than 4096 characters')],
  },
  reboot: {
    good: top('reboot: kexec'),
    bad: [
      bad(
        top('reboot: kexex'),
        '2:9',
        'reboot',
        'expected one of liveupdate, kexec; got the string "kexex"; did you mean "kexec"?',
      ),
    ],
  },
  iterations: {
    good: top('iterations: 3'),
    bad: [
      bad(top('iterations: 0'), '2:13', 'iterations', 'must be >= 1, got number 0'),
      bad(top('iterations: 1.5'), '2:13', 'iterations', 'expected an integer, got number 1.5'),
    ],
  },
  duration: {
    good: top('duration: 8h'),
    bad: [bad(top('duration: 8'), '2:11', 'duration', 'a duration needs a unit (ms, s, m, h, d), e.g. "8s"')],
  },
  jitter: {
    good: top('jitter: 500ms'),
    bad: [bad(top('jitter: 500'), '2:9', 'jitter', 'a duration needs a unit (ms, s, m, h, d), e.g. "500s"')],
  },
  seed: {
    good: top('seed: 42'),
    bad: [
      bad(top('seed: -1'), '2:7', 'seed', 'must be >= 0, got number -1'),
      bad(top('seed: 0x1ffffffff'), '2:7', 'seed', 'must be <= 4294967295'),
    ],
  },
  timeouts: {
    good: top('timeouts: {}'),
    bad: [bad(top('timeouts: 60s'), '2:11', 'timeouts', 'expected a mapping, got the string "60s"')],
  },
  'timeouts.step': {
    good: top('timeouts:', '  step: 90s'),
    bad: [bad(top('timeouts:', '  step: 90'), '3:9', 'timeouts.step', 'a duration needs a unit')],
  },
  'timeouts.reboot': {
    good: top('timeouts:', '  reboot: 5m'),
    bad: [
      bad(top('timeouts:', '  reboot: 3 min'), '3:11', 'timeouts.reboot', 'unknown duration unit "min" in "3 min"'),
    ],
  },
  'timeouts.boot': {
    good: top('timeouts:', '  boot: 1m30s'),
    bad: [bad(top('timeouts:', '  boot: 0s'), '3:9', 'timeouts.boot', 'a duration must be positive, got "0s"')],
  },
  'timeouts.total': {
    good: top('timeouts:', '  total: 12h'),
    bad: [
      bad(
        top('timeouts:', '  total: forever'),
        '3:10',
        'timeouts.total',
        'expected a duration such as 500ms, 30s, 2m or 1h30m, got "forever"',
      ),
    ],
  },
  targets: {
    good: target('local: {}'),
    bad: [bad(top('targets: {}'), '2:10', 'targets', 'needs at least 1 entry')],
  },
  'targets.*': {
    good: target('ssh: { host: lab1 }'),
    bad: [
      bad(
        lines('version: 1', 'targets:', '  VM:', '    local: {}', 'steps:', '  - sleep: 1s'),
        '3:3',
        'targets.VM',
        '"VM" is not a valid name',
      ),
      bad(
        lines('version: 1', 'targets:', '  vm: {}', 'steps:', '  - sleep: 1s'),
        '3:3',
        'targets.vm',
        'missing the target kind: one of qemu, ssh, local',
      ),
      bad(
        target('qemu: {}', 'local: {}'),
        '3:3',
        'targets.vm',
        'has 2 target kinds (qemu, local); give each its own target',
      ),
      bad(
        target('docker: {}'),
        '4:5',
        'targets.vm.docker',
        'unknown target kind "docker"; expected one of: qemu, ssh, local',
      ),
    ],
  },
  'targets.*.qemu': {
    good: target('qemu: {}'),
    bad: [
      bad(target('qemu: yes'), '4:11', 'targets.vm.qemu', 'expected a mapping, got the string "yes"'),
      bad(
        target('qemu:', '  memroy: 4GiB'),
        '5:7',
        'targets.vm.qemu.memroy',
        'unknown key "memroy"; did you mean "memory"?',
      ),
    ],
  },
  'targets.*.qemu.kernel': {
    good: target('qemu:', '  kernel: debian'),
    bad: [bad(target('qemu:', '  kernel: ""'), '5:15', 'targets.vm.qemu.kernel', 'must not be empty')],
  },
  'targets.*.qemu.initrd': {
    good: target('qemu:', '  initrd: /boot/initrd.img'),
    bad: [bad(target('qemu:', '  initrd: 7'), '5:15', 'targets.vm.qemu.initrd', 'expected a string, got number 7')],
  },
  'targets.*.qemu.next': {
    good: target('qemu:', '  next: [live-update, debian]'),
    bad: [bad(target('qemu:', '  next: []'), '5:13', 'targets.vm.qemu.next', 'needs at least 1 item')],
  },
  'targets.*.qemu.next[]': {
    good: target('qemu:', '  next: [/srv/bzImage]'),
    bad: [bad(target('qemu:', '  next: [debian, ""]'), '5:22', 'targets.vm.qemu.next[1]', 'must not be empty')],
  },
  'targets.*.qemu.cmdline': {
    good: target('qemu:', '  cmdline: quiet'),
    bad: [
      bad(target('qemu:', '  cmdline: [quiet]'), '5:16', 'targets.vm.qemu.cmdline', 'expected a string, got a list'),
    ],
  },
  'targets.*.qemu.memory': {
    good: target('qemu:', '  memory: 3GiB'),
    bad: [
      bad(target('qemu:', '  memory: 0'), '5:15', 'targets.vm.qemu.memory', 'a size must be positive, got 0'),
      bad(
        target('qemu:', '  memory: 2gb'),
        '5:15',
        'targets.vm.qemu.memory',
        'unknown size unit "gb" in "2gb"; use B, KiB, MiB, GiB or TiB',
      ),
    ],
  },
  'targets.*.qemu.cpus': {
    good: target('qemu:', '  cpus: 16'),
    bad: [bad(target('qemu:', '  cpus: 17'), '5:13', 'targets.vm.qemu.cpus', 'must be <= 16, got number 17')],
  },
  'targets.*.qemu.iommu': {
    good: target('qemu:', '  iommu: virtio'),
    bad: [
      bad(
        target('qemu:', '  iommu: amd'),
        '5:14',
        'targets.vm.qemu.iommu',
        'expected one of intel, virtio; got the string "amd"',
      ),
    ],
  },
  'targets.*.qemu.devices': {
    good: target('qemu:', '  devices: []'),
    bad: [
      bad(
        target('qemu:', '  devices: igb'),
        '5:16',
        'targets.vm.qemu.devices',
        'expected a list, got the string "igb"',
      ),
    ],
  },
  'targets.*.qemu.devices[]': {
    good: target('qemu:', '  devices:', '    - model: igb'),
    bad: [
      bad(
        target('qemu:', '  devices:', '    - count: 2'),
        '6:11',
        'targets.vm.qemu.devices[0]',
        'devices[0] needs "model"',
      ),
      bad(
        target('qemu:', '  devices:', '    - model: igb', '      colour: red'),
        '7:11',
        'targets.vm.qemu.devices[0].colour',
        'unknown key "colour"; expected one of: model, count, vfs',
      ),
    ],
  },
  'targets.*.qemu.devices[].model': {
    good: target('qemu:', '  devices:', '    - model: nvme'),
    bad: [
      bad(
        target('qemu:', '  devices:', '    - model: e1000'),
        '6:18',
        'targets.vm.qemu.devices[0].model',
        'expected one of igb, edu, nvme',
      ),
    ],
  },
  'targets.*.qemu.devices[].count': {
    good: target('qemu:', '  devices:', '    - { model: igb, count: 8 }'),
    bad: [
      bad(
        target('qemu:', '  devices:', '    - { model: igb, count: 9 }'),
        '6:32',
        'targets.vm.qemu.devices[0].count',
        'must be <= 8, got number 9',
      ),
    ],
  },
  'targets.*.qemu.devices[].vfs': {
    good: target('qemu:', '  devices:', '    - { model: igb, vfs: 7 }'),
    bad: [
      bad(
        target('qemu:', '  devices:', '    - { model: igb, vfs: -1 }'),
        '6:30',
        'targets.vm.qemu.devices[0].vfs',
        'must be >= 0, got number -1',
      ),
    ],
  },
  'targets.*.ssh': {
    good: target('ssh: { host: lab1 }'),
    bad: [bad(target('ssh: {}'), '4:5', 'targets.vm.ssh', 'ssh needs "host"')],
  },
  'targets.*.ssh.host': {
    good: target('ssh: { host: 192.0.2.1 }'),
    bad: [
      bad(target('ssh: { host: "" }'), '4:18', 'targets.vm.ssh.host', 'is not valid: a host is a name or an address'),
      bad(
        target('ssh: { host: "-oProxyCommand=id" }'),
        '4:18',
        'targets.vm.ssh.host',
        'the string "-oProxyCommand=id" is not valid: a host is a name or an address',
      ),
    ],
  },
  'targets.*.ssh.user': {
    good: target('ssh: { host: lab1, user: root }'),
    bad: [
      bad(target('ssh: { host: lab1, user: "" }'), '4:30', 'targets.vm.ssh.user', 'is not valid: a user name is'),
      bad(
        target('ssh: { host: lab1, user: "-lroot" }'),
        '4:30',
        'targets.vm.ssh.user',
        'the string "-lroot" is not valid',
      ),
    ],
  },
  'targets.*.ssh.port': {
    good: target('ssh: { host: lab1, port: 2222 }'),
    bad: [
      bad(target('ssh: { host: lab1, port: 0 }'), '4:30', 'targets.vm.ssh.port', 'must be >= 1, got number 0'),
      bad(
        target('ssh: { host: lab1, port: 65536 }'),
        '4:30',
        'targets.vm.ssh.port',
        'must be <= 65535, got number 65536',
      ),
    ],
  },
  'targets.*.ssh.identity': {
    good: target('ssh: { host: lab1, identity: ~/.ssh/lab }'),
    bad: [bad(target('ssh: { host: lab1, identity: "" }'), '4:34', 'targets.vm.ssh.identity', 'must not be empty')],
  },
  'targets.*.ssh.options': {
    good: target('ssh: { host: lab1, options: [ProxyJump=bastion] }'),
    bad: [
      bad(
        target('ssh: { host: lab1, options: [ProxyJump] }'),
        '4:34',
        'targets.vm.ssh.options[0]',
        'an ssh option looks like Name=value',
      ),
    ],
  },
  'targets.*.ssh.options[]': {
    good: target('ssh: { host: lab1, options: ["ConnectTimeout 5"] }'),
    bad: [
      bad(
        target('ssh: { host: lab1, options: [5] }'),
        '4:34',
        'targets.vm.ssh.options[0]',
        'expected a string, got number 5',
      ),
    ],
  },
  'targets.*.ssh.agent': {
    good: target('ssh: { host: lab1, agent: "sudo lustress agent --stdio" }'),
    bad: [
      bad(
        target('ssh: { host: lab1, agent: [lustress] }'),
        '4:31',
        'targets.vm.ssh.agent',
        'expected a string, got a list',
      ),
    ],
  },
  'targets.*.ssh.console': {
    good: target('ssh: { host: lab1, console: "ipmitool sol activate" }'),
    bad: [
      bad(
        target('ssh: { host: lab1, console: 5 }'),
        '4:33',
        'targets.vm.ssh.console',
        'expected a string, got number 5',
      ),
    ],
  },
  'targets.*.ssh.kernels': {
    good: target('ssh: { host: lab1, kernels: [/boot/vmlinuz] }'),
    bad: [bad(target('ssh: { host: lab1, kernels: [] }'), '4:33', 'targets.vm.ssh.kernels', 'needs at least 1 item')],
  },
  'targets.*.ssh.kernels[]': {
    good: target('ssh: { host: lab1, kernels: [/boot/a, /boot/b] }'),
    bad: [
      bad(
        target('ssh: { host: lab1, kernels: [7] }'),
        '4:34',
        'targets.vm.ssh.kernels[0]',
        'expected a string, got number 7',
      ),
    ],
  },
  'targets.*.ssh.initrd': {
    good: target('ssh: { host: lab1, initrd: /boot/initrd.img }'),
    bad: [bad(target('ssh: { host: lab1, initrd: "" }'), '4:32', 'targets.vm.ssh.initrd', 'must not be empty')],
  },
  'targets.*.ssh.disposable': {
    good: target('ssh: { host: lab1, disposable: true }'),
    bad: [
      bad(
        target('ssh: { host: lab1, disposable: yes }'),
        '4:36',
        'targets.vm.ssh.disposable',
        'expected true or false, got the string "yes"',
      ),
    ],
  },
  'targets.*.local': {
    good: target('local: {}'),
    bad: [bad(target('local: true'), '4:12', 'targets.vm.local', 'expected a mapping, got boolean true')],
  },
  'targets.*.local.disposable': {
    good: target('local: { disposable: false }'),
    bad: [
      bad(
        target('local: { disposable: 1 }'),
        '4:26',
        'targets.vm.local.disposable',
        'expected true or false, got number 1',
      ),
    ],
  },
  devices: {
    good: device('id: "8086:10c9"', 'driver: igb'),
    bad: [bad(top('devices: [nic]'), '2:10', 'devices', 'expected a mapping, got a list')],
  },
  'devices.*': {
    good: device('bdf: "0000:01:00.0"', 'driver: edu'),
    bad: [
      bad(
        lines('version: 1', 'devices:', '  Nic:', '    id: "8086:10c9"', '    driver: igb', 'steps:', '  - sleep: 1s'),
        '3:3',
        'devices.Nic',
        '"Nic" is not a valid name',
      ),
      bad(
        device('bdf: "0000:01:00.0"'),
        '3:3',
        'devices.nic',
        'a device chosen by "bdf" needs "driver": which device sits at a BDF is known only on the machine',
      ),
      bad(
        device('id: "8086:10c9"', 'drvier: igb'),
        '5:5',
        'devices.nic.drvier',
        'unknown key "drvier"; did you mean "driver"?',
      ),
    ],
  },
  'devices.*.bdf': {
    good: device('bdf: 01:00.0', 'driver: igb'),
    bad: [
      bad(
        device('bdf: "01:00.8"', 'driver: igb'),
        '4:10',
        'devices.nic.bdf',
        'the string "01:00.8" is not valid: a BDF looks like 0000:01:00.0 or 01:00.0',
      ),
    ],
  },
  'devices.*.id': {
    good: device('id: "1234:11e8"'),
    bad: [
      bad(
        device('id: "8086:1533"'),
        '4:9',
        'devices.nic.id',
        'no lustress driver claims 8086:1533 (lustress drivers lists them): give "driver"',
      ),
      bad(
        device('id: "8086:10c"', 'driver: igb'),
        '4:9',
        'devices.nic.id',
        'an id is vendor:device in hex, like 8086:10c9',
      ),
    ],
  },
  'devices.*.index': {
    good: device('id: "8086:10c9"', 'index: 1', 'driver: igb'),
    bad: [
      bad(
        device('id: "8086:10c9"', 'index: -1', 'driver: igb'),
        '5:12',
        'devices.nic.index',
        'must be >= 0, got number -1',
      ),
    ],
  },
  'devices.*.vf': {
    good: device('id: "8086:10c9"', 'vf: 255', 'driver: igb'),
    bad: [
      bad(
        device('id: "8086:10c9"', 'vf: 256', 'driver: igb'),
        '5:9',
        'devices.nic.vf',
        'must be <= 255, got number 256',
      ),
    ],
  },
  'devices.*.driver': {
    good: device('id: "1234:11e8"', 'driver: edu'),
    bad: [
      bad(
        device('id: "8086:10c9"', 'driver: e1000'),
        '5:13',
        'devices.nic.driver',
        'expected one of igb, edu, nvme, dsa, ioat, nv_falcon; got the string "e1000"',
      ),
    ],
  },
  'devices.*.vfio-driver': {
    good: device('id: "10de:2330"', 'vfio-driver: nvgrace_gpu_vfio_pci'),
    bad: [
      bad(
        device('id: "8086:10c9"', 'vfio-driver: igb'),
        '5:18',
        'devices.nic.vfio-driver',
        'a VFIO driver is vfio-pci or a variant named <name>_vfio_pci',
      ),
    ],
  },
  'devices.*.scratch': {
    good: device('id: "1b36:0010"', 'scratch: { namespace: 1 }'),
    bad: [
      bad(
        device('id: "8086:10c9"', 'scratch: { namespace: 1 }'),
        '5:5',
        'devices.nic.scratch',
        '"scratch" is the namespace an nvme device copies through; the igb driver overwrites nothing',
      ),
      bad(
        lines(
          'version: 1',
          'targets:',
          '  lab:',
          '    ssh: { host: lab1, disposable: true }',
          'devices:',
          '  nic:',
          '    id: "1b36:0010"',
          'steps:',
          '  - bind: { device: nic }',
        ),
        '6:3',
        'devices.nic',
        'an nvme device on target "lab" needs "scratch": the namespace and LBA range its copies may overwrite',
      ),
      bad(
        device('id: "1b36:0010"', 'scratch: { first-lba: 8 }'),
        '5:5',
        'devices.nic.scratch',
        'scratch needs "namespace"',
      ),
    ],
  },
  'devices.*.scratch.namespace': {
    good: device('id: "1b36:0010"', 'scratch: { namespace: 4294967294 }'),
    bad: [
      bad(
        device('id: "1b36:0010"', 'scratch: { namespace: 0 }'),
        '5:27',
        'devices.nic.scratch.namespace',
        'must be >= 1, got number 0',
      ),
    ],
  },
  'devices.*.scratch.first-lba': {
    good: device('id: "1b36:0010"', 'scratch: { namespace: 1, first-lba: 0 }'),
    bad: [
      bad(
        device('id: "1b36:0010"', 'scratch: { namespace: 1, first-lba: -1 }'),
        '5:41',
        'devices.nic.scratch.first-lba',
        'must be >= 0, got number -1',
      ),
    ],
  },
  'devices.*.scratch.lbas': {
    good: device('id: "1b36:0010"', 'scratch: { namespace: 1, lbas: 1 }'),
    bad: [
      bad(
        device('id: "1b36:0010"', 'scratch: { namespace: 1, lbas: 0 }'),
        '5:36',
        'devices.nic.scratch.lbas',
        'must be >= 1, got number 0',
      ),
    ],
  },
  'devices.*.iommu': {
    good: device('id: "8086:10c9"', 'driver: igb', 'iommu: type1v2'),
    bad: [
      bad(
        device('id: "8086:10c9"', 'driver: igb', 'iommu: type3'),
        '6:12',
        'devices.nic.iommu',
        'expected one of type1, type1v2, iommufd-compat, iommufd; got the string "type3"; did you mean "type1"?',
      ),
    ],
  },
  'devices.*.target': {
    good: onTarget('target: vm'),
    bad: [bad(onTarget('target: 7'), '9:13', 'devices.nic.target', 'expected a string, got number 7')],
  },
  'devices.*.force': {
    good: device('id: "8086:10c9"', 'driver: igb', 'force: true'),
    bad: [
      bad(
        device('id: "8086:10c9"', 'driver: igb', 'force: "yes"'),
        '6:12',
        'devices.nic.force',
        'expected true or false, got the string "yes"',
      ),
    ],
  },
  buffers: {
    good: buffer('size: 4KiB'),
    bad: [bad(top('buffers: 4KiB'), '2:10', 'buffers', 'expected a mapping, got the string "4KiB"')],
  },
  'buffers.*': {
    good: buffer('size: 1MiB', 'backing: memfd', 'seed: 7'),
    bad: [
      bad(
        lines('version: 1', 'buffers:', '  Big:', '    size: 4KiB', 'steps:', '  - sleep: 1s'),
        '3:3',
        'buffers.Big',
        '"Big" is not a valid name',
      ),
      bad(buffer('backing: memfd'), '3:3', 'buffers.buf', 'buf needs "size"'),
      bad(buffer('sise: 4KiB'), '4:5', 'buffers.buf.sise', 'unknown key "sise"; did you mean "size"?'),
    ],
  },
  'buffers.*.size': {
    good: buffer('size: 64MiB'),
    bad: [
      bad(buffer('size: 64Mb'), '4:11', 'buffers.buf.size', 'unknown size unit "Mb" in "64Mb"'),
      bad(buffer('size: 0'), '4:11', 'buffers.buf.size', 'a size must be positive, got 0'),
      bad(buffer('size: 1.5'), '4:11', 'buffers.buf.size', 'a size must be a whole number of bytes, got 1.5'),
      bad(buffer('size: "-4KiB"'), '4:11', 'buffers.buf.size', 'a size must be positive, got "-4KiB"'),
    ],
  },
  'buffers.*.backing': {
    good: buffer('size: 2MiB', 'backing: hugetlb'),
    bad: [
      bad(buffer('size: 2MiB', 'backing: hugepages'), '5:14', 'buffers.buf.backing', 'expected one of memfd, hugetlb'),
    ],
  },
  'buffers.*.seed': {
    good: buffer('size: 4KiB', 'seed: 4294967295'),
    bad: [
      bad(
        buffer('size: 4KiB', 'seed: 4294967296'),
        '5:11',
        'buffers.buf.seed',
        'must be <= 4294967295, got number 4294967296',
      ),
    ],
  },
  steps: {
    good: steps(),
    bad: [
      bad(lines('version: 1', 'steps: []'), '2:8', 'steps', 'needs at least 1 item'),
      bad(lines('version: 1', 'steps: { sleep: 1s }'), '2:8', 'steps', 'expected a list, got a mapping'),
    ],
  },
  'steps[]': {
    good: steps('- sleep: 1s'),
    bad: [
      bad(
        steps('- sleep: 1s', '  fill: { buffers: [src] }'),
        '11:5',
        'steps[3]',
        'has 2 step kinds (fill, sleep); give each its own step',
      ),
      bad(steps('- name: nothing'), '11:5', 'steps[3]', 'missing the step kind: one of bind, map, fill, memcpy-start'),
      bad(steps('- 42'), '11:5', 'steps[3]', 'expected a mapping, got number 42'),
      bad(steps('- slep: 1s'), '11:5', 'steps[3].slep', 'unknown step kind "slep"; did you mean "sleep"?'),
      bad(
        steps('- reboot: {}'),
        '11:5',
        'steps[3].reboot',
        'unknown step kind "reboot"; expected one of: bind, map, fill, memcpy-start, memcpy-wait, send-msi, expect-msi, preserve, kexec-load, kexec-exec, retrieve, verify, finish, sleep',
      ),
      bad(steps('- sleep: 1s', '  nmae: settle'), '12:5', 'steps[3].nmae', 'unknown key "nmae"; did you mean "name"?'),
    ],
  },
  'steps[].name': {
    good: steps('- name: settle', '  sleep: 1s'),
    bad: [bad(steps('- name: ""', '  sleep: 1s'), '11:11', 'steps[3].name', 'must not be empty')],
  },
  'steps[].timeout': {
    good: steps('- sleep: 1s', '  timeout: 5s'),
    bad: [bad(steps('- sleep: 1s', '  timeout: 5'), '12:14', 'steps[3].timeout', 'a duration needs a unit')],
  },
  'steps[].expect': {
    good: steps('- sleep: 1s', '  expect: error'),
    bad: [
      bad(
        steps('- sleep: 1s', '  expect: failure'),
        '12:13',
        'steps[3].expect',
        'expected one of ok, error; got the string "failure"',
      ),
    ],
  },
  'steps[].bind': {
    good: steps('- kexec-load:', '- kexec-exec:', '- bind: { device: nic }'),
    bad: [
      bad(steps('- bind: nic'), '11:11', 'steps[3].bind', 'expected a mapping, got the string "nic"'),
      bad(
        steps('- kexec-load:', '- kexec-exec:', '- bind: { device: nic, name: again }'),
        '13:26',
        'steps[5].bind.name',
        '"name" belongs to the step, not to its arguments: write it beside "bind", at the same indentation',
      ),
    ],
  },
  'steps[].bind.device': {
    good: steps('- kexec-load:', '- kexec-exec:', '- bind: { device: nic }'),
    bad: [
      bad(steps('- kexec-load:', '- kexec-exec:', '- bind: {}'), '13:5', 'steps[5].bind', 'bind needs "device"'),
      bad(
        steps('- kexec-load:', '- kexec-exec:', '- bind: { devcie: nic }'),
        '13:13',
        'steps[5].bind.devcie',
        'unknown key "devcie"; did you mean "device"?',
      ),
    ],
  },
  'steps[].map': {
    good: steps('- map: { device: nic, buffers: [src] }'),
    bad: [bad(steps('- map: [nic]'), '11:10', 'steps[3].map', 'expected a mapping, got a list')],
  },
  'steps[].map.device': {
    good: steps('- map: { device: nic, buffers: [dst] }'),
    bad: [bad(steps('- map: { buffers: [src] }'), '11:5', 'steps[3].map', 'map needs "device"')],
  },
  'steps[].map.buffers': {
    good: steps('- map: { device: nic, buffers: [src] }'),
    bad: [bad(steps('- map: { device: nic, buffers: [] }'), '11:34', 'steps[3].map.buffers', 'needs at least 1 item')],
  },
  'steps[].map.buffers[]': {
    good: steps('- map: { device: nic, buffers: [src, dst] }'),
    bad: [
      bad(
        steps('- map: { device: nic, buffers: [7] }'),
        '11:35',
        'steps[3].map.buffers[0]',
        'expected a string, got number 7',
      ),
    ],
  },
  'steps[].map.iova': {
    good: steps('- map: { device: nic, buffers: [src], iova: 4GiB }'),
    bad: [
      bad(
        steps('- map: { device: nic, buffers: [src], iova: 4097 }'),
        '11:47',
        'steps[3].map.iova',
        'an IOVA is page-aligned (a multiple of 4096); 4097 is not',
      ),
      bad(
        steps('- map: { device: nic, buffers: [src], iova: 0 }'),
        '11:47',
        'steps[3].map.iova',
        'a size must be positive',
      ),
    ],
  },
  'steps[].fill': {
    good: steps('- fill: { buffers: [src] }'),
    bad: [bad(steps('- fill: src'), '11:11', 'steps[3].fill', 'expected a mapping, got the string "src"')],
  },
  'steps[].fill.buffers': {
    good: steps('- fill: { buffers: [dst] }'),
    bad: [
      bad(steps('- fill: { buffers: src }'), '11:22', 'steps[3].fill.buffers', 'expected a list, got the string "src"'),
    ],
  },
  'steps[].fill.buffers[]': {
    good: steps('- fill: { buffers: [src, dst] }'),
    bad: [
      bad(
        steps('- fill: { buffers: [src, 5] }'),
        '11:28',
        'steps[3].fill.buffers[1]',
        'expected a string, got number 5',
      ),
    ],
  },
  'steps[].memcpy-start': {
    good: steps(MEMCPY),
    bad: [
      bad(
        steps('- memcpy-start: { device: nic, from: src }'),
        '11:5',
        'steps[3].memcpy-start',
        'memcpy-start needs "to"',
      ),
    ],
  },
  'steps[].memcpy-start.device': {
    good: steps(MEMCPY),
    bad: [
      bad(
        steps('- memcpy-start: { device: 1, from: src, to: dst }'),
        '11:29',
        'steps[3].memcpy-start.device',
        'expected a string, got number 1',
      ),
    ],
  },
  'steps[].memcpy-start.from': {
    good: steps('- memcpy-start: { device: nic, from: dst, to: src }'),
    bad: [
      bad(
        steps('- memcpy-start: { device: nic, from: [src], to: dst }'),
        '11:40',
        'steps[3].memcpy-start.from',
        'expected a string, got a list',
      ),
    ],
  },
  'steps[].memcpy-start.to': {
    good: steps(MEMCPY),
    bad: [
      bad(
        steps('- memcpy-start: { device: nic, from: src, to: 2 }'),
        '11:49',
        'steps[3].memcpy-start.to',
        'expected a string, got number 2',
      ),
    ],
  },
  'steps[].memcpy-start.size': {
    good: steps('- memcpy-start: { device: nic, from: src, to: dst, size: 1KiB }'),
    bad: [
      bad(
        steps('- memcpy-start: { device: nic, from: src, to: dst, size: 1kb }'),
        '11:60',
        'steps[3].memcpy-start.size',
        'unknown size unit "kb" in "1kb"',
      ),
    ],
  },
  'steps[].memcpy-start.count': {
    good: steps('- memcpy-start: { device: nic, from: src, to: dst, count: 4095 }'),
    bad: [
      bad(
        steps('- memcpy-start: { device: nic, from: src, to: dst, count: 0 }'),
        '11:61',
        'steps[3].memcpy-start.count',
        'must be >= 1, got number 0',
      ),
    ],
  },
  'steps[].memcpy-start.unmapped': {
    good: steps('- memcpy-start: { device: nic, from: src, to: dst, unmapped: to }'),
    bad: [
      bad(
        steps('- memcpy-start: { device: nic, from: src, to: dst, unmapped: both }'),
        '11:64',
        'steps[3].memcpy-start.unmapped',
        'expected one of from, to; got the string "both"',
      ),
    ],
  },
  'steps[].memcpy-wait': {
    good: steps(MEMCPY, '- memcpy-wait: { device: nic }'),
    bad: [
      bad(
        steps(MEMCPY, '- memcpy-wait: nic'),
        '12:18',
        'steps[4].memcpy-wait',
        'expected a mapping, got the string "nic"',
      ),
    ],
  },
  'steps[].memcpy-wait.device': {
    good: steps(MEMCPY, '- memcpy-wait: { device: nic }'),
    bad: [bad(steps(MEMCPY, '- memcpy-wait: {}'), '12:5', 'steps[4].memcpy-wait', 'memcpy-wait needs "device"')],
  },
  'steps[].send-msi': {
    good: steps('- send-msi: { device: nic }'),
    bad: [bad(steps('- send-msi: 10'), '11:15', 'steps[3].send-msi', 'expected a mapping, got number 10')],
  },
  'steps[].send-msi.device': {
    good: steps('- send-msi: { device: nic }'),
    bad: [bad(steps('- send-msi: { count: 2 }'), '11:5', 'steps[3].send-msi', 'send-msi needs "device"')],
  },
  'steps[].send-msi.count': {
    good: steps('- send-msi: { device: nic, count: 1000000 }'),
    bad: [
      bad(
        steps('- send-msi: { device: nic, count: 1000001 }'),
        '11:37',
        'steps[3].send-msi.count',
        'must be <= 1000000, got number 1000001',
      ),
    ],
  },
  'steps[].expect-msi': {
    good: steps('- expect-msi: { device: nic, count: 0 }'),
    bad: [bad(steps('- expect-msi: [nic]'), '11:17', 'steps[3].expect-msi', 'expected a mapping, got a list')],
  },
  'steps[].expect-msi.device': {
    good: steps('- expect-msi: { device: nic, count: 1 }'),
    bad: [bad(steps('- expect-msi: { count: 1 }'), '11:5', 'steps[3].expect-msi', 'expect-msi needs "device"')],
  },
  'steps[].expect-msi.count': {
    good: steps('- expect-msi: { device: nic, count: 3 }'),
    bad: [
      bad(steps('- expect-msi: { device: nic }'), '11:5', 'steps[3].expect-msi', 'expect-msi needs "count"'),
      bad(
        steps('- expect-msi: { device: nic, count: -1 }'),
        '11:39',
        'steps[3].expect-msi.count',
        'must be >= 0, got number -1',
      ),
    ],
  },
  'steps[].expect-msi.within': {
    good: steps('- expect-msi: { device: nic, count: 1, within: 2s }'),
    bad: [
      bad(
        steps('- expect-msi: { device: nic, count: 1, within: 2 }'),
        '11:50',
        'steps[3].expect-msi.within',
        'a duration needs a unit (ms, s, m, h, d), e.g. "2s"',
      ),
    ],
  },
  'steps[].preserve': {
    good: steps('- preserve: { session: s, buffers: [src] }'),
    bad: [bad(steps('- preserve: s'), '11:15', 'steps[3].preserve', 'expected a mapping, got the string "s"')],
  },
  'steps[].preserve.session': {
    good: steps('- preserve: { session: vm1, buffers: [src] }'),
    bad: [bad(steps('- preserve: { buffers: [src] }'), '11:5', 'steps[3].preserve', 'preserve needs "session"')],
  },
  'steps[].preserve.buffers': {
    good: steps('- preserve: { session: s, buffers: [src, dst] }'),
    bad: [
      bad(
        steps('- preserve: { session: s, buffers: [] }'),
        '11:38',
        'steps[3].preserve.buffers',
        'needs at least 1 item',
      ),
    ],
  },
  'steps[].preserve.buffers[]': {
    good: steps('- preserve: { session: s, buffers: [dst] }'),
    bad: [
      bad(
        steps('- preserve: { session: s, buffers: [src, {}] }'),
        '11:44',
        'steps[3].preserve.buffers[1]',
        'expected a string, got a mapping',
      ),
    ],
  },
  'steps[].preserve.devices': {
    good: steps('- preserve: { session: s, devices: [nic] }'),
    bad: [
      bad(
        steps('- preserve: { session: s, devices: nic }'),
        '11:38',
        'steps[3].preserve.devices',
        'expected a list, got the string "nic"',
      ),
    ],
  },
  'steps[].preserve.devices[]': {
    good: steps('- preserve: { session: s, devices: [nic], buffers: [src] }'),
    bad: [
      bad(
        steps('- preserve: { session: s, devices: [nic, 3] }'),
        '11:44',
        'steps[3].preserve.devices[1]',
        'expected a string, got number 3',
      ),
      bad(
        lines(
          'version: 1',
          'devices:',
          '  nic: { id: "8086:10c9", driver: igb, iommu: type1 }',
          'steps:',
          '  - bind: { device: nic }',
          '  - preserve: { session: s, devices: [nic] }',
        ),
        '6:39',
        'steps[1].preserve.devices[0]',
        'device "nic" uses iommu: type1 (at devices.nic.iommu); only a VFIO cdev bound to an iommufd can be preserved',
      ),
      bad(
        lines(
          'version: 1',
          'devices:',
          '  nic: { id: "8086:10c9", driver: igb }',
          'buffers:',
          '  src: { size: 4KiB }',
          'steps:',
          '  - bind: { device: nic }',
          '  - map: { device: nic, buffers: [src] }',
          '  - preserve: { session: s, devices: [nic] }',
        ),
        '9:39',
        'steps[2].preserve.devices[0]',
        'device "nic" has buffer(s) src mapped at IOVAs the allocator picked',
      ),
    ],
  },
  'steps[].kexec-load': {
    good: steps('- kexec-load:'),
    bad: [
      bad(
        steps('- kexec-load: debian'),
        '11:17',
        'steps[3].kexec-load',
        'expected a mapping or nothing, got the string "debian"',
      ),
    ],
  },
  'steps[].kexec-load.kernel': {
    good: steps('- kexec-load: { kernel: debian }'),
    bad: [bad(steps('- kexec-load: { kernel: "" }'), '11:27', 'steps[3].kexec-load.kernel', 'must not be empty')],
  },
  'steps[].kexec-load.initrd': {
    good: steps('- kexec-load: { initrd: /boot/initrd.img }'),
    bad: [
      bad(
        steps('- kexec-load: { initrd: 0 }'),
        '11:27',
        'steps[3].kexec-load.initrd',
        'expected a string, got number 0',
      ),
    ],
  },
  'steps[].kexec-load.cmdline': {
    good: steps('- kexec-load: { cmdline: "quiet" }'),
    bad: [
      bad(
        steps('- kexec-load: { cmdline: {} }'),
        '11:28',
        'steps[3].kexec-load.cmdline',
        'expected a string, got a mapping',
      ),
    ],
  },
  'steps[].kexec-exec': {
    good: steps('- kexec-load:', '- kexec-exec:'),
    bad: [
      bad(
        steps('- kexec-load:', '- kexec-exec: now'),
        '12:17',
        'steps[4].kexec-exec',
        'expected a mapping or nothing, got the string "now"',
      ),
      bad(
        steps('- kexec-load:', '- kexec-exec: { wait: 1s }'),
        '12:19',
        'steps[4].kexec-exec.wait',
        'unknown key "wait"; kexec-exec takes no arguments',
      ),
    ],
  },
  'steps[].retrieve': {
    good: steps(...RETRIEVED),
    bad: [
      bad(
        steps(...RETRIEVED.slice(0, 3), '- retrieve: s'),
        '14:15',
        'steps[6].retrieve',
        'expected a mapping, got the string "s"',
      ),
    ],
  },
  'steps[].retrieve.session': {
    good: steps(...RETRIEVED),
    bad: [
      bad(steps(...RETRIEVED.slice(0, 3), '- retrieve: {}'), '14:5', 'steps[6].retrieve', 'retrieve needs "session"'),
    ],
  },
  'steps[].verify': {
    good: steps('- verify: { buffers: [src] }'),
    bad: [bad(steps('- verify: [src]'), '11:13', 'steps[3].verify', 'expected a mapping, got a list')],
  },
  'steps[].verify.buffers': {
    good: steps('- verify: { buffers: [src, dst] }'),
    bad: [bad(steps('- verify: { pattern: src }'), '11:5', 'steps[3].verify', 'verify needs "buffers"')],
  },
  'steps[].verify.buffers[]': {
    good: steps('- verify: { buffers: [dst] }'),
    bad: [
      bad(
        steps('- verify: { buffers: [src, ""] }'),
        '11:30',
        'steps[3].verify.buffers[1]',
        'the string "" is not valid: a name is 1 to 63',
      ),
    ],
  },
  'steps[].verify.pattern': {
    good: steps('- verify: { buffers: [dst], pattern: src }'),
    bad: [
      bad(
        steps('- verify: { buffers: [dst], pattern: 5 }'),
        '11:40',
        'steps[3].verify.pattern',
        'expected a string, got number 5',
      ),
    ],
  },
  'steps[].verify.copy-of': {
    good: steps('- verify: { buffers: [dst], copy-of: src }'),
    bad: [
      bad(
        steps('- verify: { buffers: [dst], copy-of: nope }'),
        '11:40',
        'steps[3].verify.copy-of',
        'no buffer named "nope"',
      ),
      bad(
        steps('- verify: { buffers: [dst], copy-of: src, pattern: src }'),
        '11:40',
        'steps[3].verify.copy-of',
        'give "pattern" or "copy-of", not both',
      ),
      bad(
        steps('- verify: { buffers: [dst], copy-of: dst }'),
        '11:40',
        'steps[3].verify.copy-of',
        'buffer "dst" cannot be checked as a copy of itself',
      ),
    ],
  },
  'steps[].verify.size': {
    good: steps('- verify: { buffers: [dst], size: 1KiB }'),
    bad: [
      bad(
        steps('- verify: { buffers: [dst], size: -1 }'),
        '11:37',
        'steps[3].verify.size',
        'a size must be positive, got -1',
      ),
    ],
  },
  'steps[].finish': {
    good: steps(...RETRIEVED, '- finish: { session: s }'),
    bad: [
      bad(steps(...RETRIEVED, '- finish: s'), '15:13', 'steps[7].finish', 'expected a mapping, got the string "s"'),
    ],
  },
  'steps[].finish.session': {
    good: steps(...RETRIEVED, '- finish: { session: s }'),
    bad: [
      bad(
        steps(...RETRIEVED, '- finish: { session: S }'),
        '15:24',
        'steps[7].finish.session',
        'the string "S" is not valid: a name is',
      ),
    ],
  },
  'steps[].corrupt': {
    good: steps('- corrupt: { buffer: src, offset: 100 }'),
    bad: [bad(steps('- corrupt: src'), '11:14', 'steps[3].corrupt', 'expected a mapping, got the string "src"')],
  },
  'steps[].corrupt.buffer': {
    good: steps('- corrupt: { buffer: dst, offset: 0 }'),
    bad: [bad(steps('- corrupt: { offset: 1 }'), '11:5', 'steps[3].corrupt', 'corrupt needs "buffer"')],
  },
  'steps[].corrupt.offset': {
    good: steps('- corrupt: { buffer: src, offset: 4095 }'),
    bad: [
      bad(
        steps('- corrupt: { buffer: src, offset: -1 }'),
        '11:37',
        'steps[3].corrupt.offset',
        'must be >= 0, got number -1',
      ),
    ],
  },
  'steps[].corrupt.xor': {
    good: steps('- corrupt: { buffer: src, offset: 1, xor: 255 }'),
    bad: [
      bad(
        steps('- corrupt: { buffer: src, offset: 1, xor: 0 }'),
        '11:45',
        'steps[3].corrupt.xor',
        'must be >= 1, got number 0',
      ),
    ],
  },
  'steps[].sleep': {
    good: steps('- sleep: 250ms'),
    bad: [
      bad(steps('- sleep: 250'), '11:12', 'steps[3].sleep', 'a duration needs a unit (ms, s, m, h, d), e.g. "250s"'),
      bad(steps('- sleep: { s: 1 }'), '11:12', 'steps[3].sleep', 'expected a duration such as 30s, got a mapping'),
    ],
  },
};

type Schema = Record<string, any>;

/** Every property path of the schema, in the notation of RULES, following $ref into definitions. */
function schemaPaths(root: Schema): string[] {
  const paths: string[] = [];
  // A $ref's siblings (description, default) describe the use; the definition holds the rules.
  const resolve = (node: Schema): Schema =>
    node.$ref
      ? { ...resolve(root.definitions[node.$ref.replace('#/definitions/', '')]), ...node, $ref: undefined }
      : node;
  const walk = (raw: Schema, path: string) => {
    const node = resolve(raw);
    for (const [key, child] of Object.entries<Schema>(node.properties ?? {})) {
      const childPath = path ? `${path}.${key}` : key;
      paths.push(childPath);
      walk(child, childPath);
    }
    if (typeof node.additionalProperties === 'object') {
      paths.push(`${path}.*`);
      walk(node.additionalProperties, `${path}.*`);
    }
    if (typeof node.items === 'object') {
      paths.push(`${path}[]`);
      walk(node.items, `${path}[]`);
    }
  };
  walk(root, '');
  return paths;
}

t.test('every property path of the schema has a rule in this file', async (t) => {
  const paths = schemaPaths(scenarioSchema());
  t.ok(paths.length > 100, `the walk finds the schema's paths (found ${paths.length})`);
  t.same(
    paths.filter((p) => !(p in RULES)),
    [],
    'schema paths without a rule here',
  );
  t.same(
    Object.keys(RULES).filter((p) => !paths.includes(p)),
    [],
    'rules here for paths the schema no longer has',
  );
});

for (const [path, rule] of Object.entries(RULES)) {
  t.test(path, async (t) => {
    const good = checkScenarioText('good.yaml', rule.good);
    t.same(
      good.ok ? [] : good.problems.map((p) => `${p.line}:${p.col} ${afterPosition(p)}`),
      [],
      'a scenario that keeps the rule is accepted',
    );
    for (const broken of rule.bad) {
      const expected: ExpectedProblem[] = [{ at: broken.at, path: broken.path, text: broken.message }];
      const { actual, wanted } = compareProblems(checkScenarioText('bad.yaml', broken.yaml), expected);
      t.same(actual, wanted, `breaking it: ${broken.message}`);
    }
  });
}

/** Semantic checks: each case a scenario and the problems expected, none when the list is empty. */
interface Case {
  name: string;
  yaml: string;
  problems: ExpectedProblem[];
}

const problem = (at: string, path: string, text: string): ExpectedProblem => ({ at, path, text });

const SEMANTIC_CASES: Case[] = [
  {
    name: 'a corruption past the end of its buffer',
    yaml: steps('- corrupt: { buffer: src, offset: 4096 }'),
    problems: [problem('11:37', 'steps[3].corrupt.offset', 'offset 4096 is past the end of buffer "src" (4096 bytes)')],
  },
  {
    name: 'an undefined device, with the likely one suggested',
    yaml: steps('- send-msi: { device: nci }'),
    problems: [problem('11:25', 'steps[3].send-msi.device', 'no device named "nci"; did you mean "nic"?')],
  },
  {
    name: 'an undefined device, far from any name: the names are listed',
    yaml: steps('- send-msi: { device: gpu }'),
    problems: [problem('11:25', 'steps[3].send-msi.device', 'no device named "gpu"; devices are: nic')],
  },
  {
    name: 'a device when the scenario defines none',
    yaml: lines('version: 1', 'steps:', '  - bind: { device: nic }'),
    problems: [problem('3:21', 'steps[0].bind.device', 'no device named "nic"; the scenario defines no devices')],
  },
  {
    name: 'an undefined buffer, with the likely one suggested',
    yaml: steps('- fill: { buffers: [src, dts] }'),
    problems: [problem('11:28', 'steps[3].fill.buffers[1]', 'no buffer named "dts"; did you mean "dst"?')],
  },
  {
    name: 'an undefined pattern buffer of verify',
    yaml: steps('- verify: { buffers: [dst], pattern: scr }'),
    problems: [problem('11:40', 'steps[3].verify.pattern', 'no buffer named "scr"; did you mean "src"?')],
  },
  {
    name: 'an undefined target of a device',
    yaml: onTarget('target: vn'),
    problems: [problem('9:13', 'devices.nic.target', 'no target named "vn"; did you mean "vm"?')],
  },
  {
    name: 'a device target when the scenario has no targets',
    yaml: device('id: "8086:10c9"', 'driver: igb', 'target: vm'),
    problems: [
      problem(
        '6:13',
        'devices.nic.target',
        'names a target but the scenario has no "targets" (the default target is "default")',
      ),
    ],
  },
  {
    name: 'a reference that is not a valid name gets the schema message only',
    yaml: steps('- send-msi: { device: NIC }'),
    problems: [problem('11:25', 'steps[3].send-msi.device', 'the string "NIC" is not valid: a name is')],
  },
  {
    name: 'a device used before any bind',
    yaml: lines(
      'version: 1',
      'devices:',
      '  nic: { id: "8086:10c9", driver: igb }',
      'steps:',
      '  - send-msi: { device: nic }',
    ),
    problems: [
      problem('5:25', 'steps[0].send-msi.device', 'device "nic" is not bound; add a bind step before this one'),
    ],
  },
  {
    name: 'a device used after a reboot without binding it again',
    yaml: steps('- kexec-load:', '- kexec-exec:', '- send-msi: { device: nic }'),
    problems: [
      problem(
        '13:25',
        'steps[5].send-msi.device',
        'device "nic" is not bound since the reboot at steps[4]; add a bind step before this one',
      ),
    ],
  },
  {
    name: 'a device bound twice',
    yaml: steps('- bind: { device: nic }'),
    problems: [problem('11:21', 'steps[3].bind.device', 'device "nic" is already bound at steps[0]')],
  },
  {
    name: 'a copy from a buffer that is not mapped',
    yaml: lines(
      'version: 1',
      'devices:',
      '  nic: { id: "8086:10c9", driver: igb }',
      'buffers:',
      '  src: { size: 4KiB }',
      '  dst: { size: 4KiB }',
      'steps:',
      '  - bind: { device: nic }',
      '  - map: { device: nic, buffers: [dst] }',
      `  ${MEMCPY}`,
    ),
    problems: [
      problem(
        '10:40',
        'steps[2].memcpy-start.from',
        'buffer "src" is not mapped for device "nic"; add it to a map step first',
      ),
    ],
  },
  {
    name: 'a copy whose unmapped side is on purpose',
    yaml: lines(
      'version: 1',
      'devices:',
      '  nic: { id: "8086:10c9", driver: igb }',
      'buffers:',
      '  src: { size: 4KiB }',
      '  dst: { size: 4KiB }',
      'steps:',
      '  - bind: { device: nic }',
      '  - map: { device: nic, buffers: [dst] }',
      '  - memcpy-start: { device: nic, from: src, to: dst, unmapped: from }',
      '    expect: error',
    ),
    problems: [],
  },
  {
    name: 'mappings do not survive a reboot',
    yaml: steps('- kexec-load:', '- kexec-exec:', '- bind: { device: nic }', MEMCPY),
    problems: [
      problem('14:40', 'steps[6].memcpy-start.from', 'buffer "src" is not mapped for device "nic"'),
      problem('14:49', 'steps[6].memcpy-start.to', 'buffer "dst" is not mapped for device "nic"'),
    ],
  },
  {
    name: 'a copy larger than both buffers: one message, about the smaller',
    yaml: lines(
      'version: 1',
      'devices:',
      '  nic: { id: "8086:10c9", driver: igb }',
      'buffers:',
      '  src: { size: 8KiB }',
      '  dst: { size: 4KiB }',
      'steps:',
      '  - bind: { device: nic }',
      '  - map: { device: nic, buffers: [src, dst] }',
      '  - memcpy-start: { device: nic, from: src, to: dst, size: 16KiB }',
    ),
    problems: [problem('10:60', 'steps[2].memcpy-start.size', 'copies 16384 bytes but buffer "dst" holds 4096')],
  },
  {
    name: 'a copy exactly the size of the buffers',
    yaml: steps('- memcpy-start: { device: nic, from: src, to: dst, size: 4KiB }'),
    problems: [],
  },
  {
    name: 'memcpy-wait with no memcpy-start before it',
    yaml: steps('- memcpy-wait: { device: nic }'),
    problems: [problem('11:5', 'steps[3].memcpy-wait', 'nothing to wait for: no memcpy-start comes before this step')],
  },
  {
    name: 'memcpy-wait after a reboot for copies started before it',
    yaml: steps(MEMCPY, '- kexec-load:', '- kexec-exec:', '- bind: { device: nic }', '- memcpy-wait: { device: nic }'),
    problems: [
      problem(
        '15:5',
        'steps[7].memcpy-wait',
        'nothing to wait for: no memcpy-start comes before this step since the reboot at steps[5]',
      ),
    ],
  },
  {
    name: 'kexec-exec with no kexec-load before it',
    yaml: steps('- kexec-exec:'),
    problems: [problem('11:5', 'steps[3].kexec-exec', 'no kernel is loaded: add a kexec-load step before this one')],
  },
  {
    name: 'a second kexec-exec needs a second kexec-load',
    yaml: steps('- kexec-load:', '- kexec-exec:', '- kexec-exec:'),
    problems: [problem('13:5', 'steps[5].kexec-exec', 'no kernel is loaded')],
  },
  {
    name: 'preserve in a scenario that does a plain kexec',
    yaml: lines(
      'version: 1',
      'reboot: kexec',
      'buffers:',
      '  src: { size: 4KiB }',
      'steps:',
      '  - preserve: { session: s, buffers: [src] }',
    ),
    problems: [
      problem('6:5', 'steps[0].preserve', 'preserve needs "reboot: liveupdate"; this scenario does a plain kexec'),
    ],
  },
  {
    name: 'preserve with neither buffers nor devices',
    yaml: steps('- preserve: { session: s }'),
    problems: [problem('11:5', 'steps[3].preserve', 'preserves nothing: give "buffers" or "devices"')],
  },
  {
    name: 'a session preserved twice in one boot',
    yaml: steps('- preserve: { session: s, buffers: [src] }', '- preserve: { session: s, buffers: [dst] }'),
    problems: [problem('12:26', 'steps[4].preserve.session', 'session "s" is already preserved in this boot')],
  },
  {
    name: 'retrieve in the boot that preserved the session',
    yaml: steps('- preserve: { session: s, buffers: [src] }', '- retrieve: { session: s }'),
    problems: [
      problem(
        '12:26',
        'steps[4].retrieve.session',
        'session "s" was preserved in this same boot; retrieve comes after a kexec-exec',
      ),
    ],
  },
  {
    name: 'retrieve of a session nothing preserves',
    yaml: steps(
      '- preserve: { session: vm1, buffers: [src] }',
      '- kexec-load:',
      '- kexec-exec:',
      '- retrieve: { session: vm2 }',
    ),
    problems: [
      problem(
        '14:26',
        'steps[6].retrieve.session',
        'no preserve step creates session "vm2" before this one; did you mean "vm1"?',
      ),
    ],
  },
  {
    name: 'finish before retrieve',
    yaml: steps(
      '- preserve: { session: s, buffers: [src] }',
      '- kexec-load:',
      '- kexec-exec:',
      '- finish: { session: s }',
    ),
    problems: [
      problem('14:24', 'steps[6].finish.session', 'session "s" is not retrieved in this boot; finish follows retrieve'),
    ],
  },
  {
    name: 'finish twice',
    yaml: steps(...RETRIEVED, '- finish: { session: s }', '- finish: { session: s }'),
    problems: [problem('16:24', 'steps[8].finish.session', 'session "s" is not retrieved in this boot')],
  },
  {
    name: 'verify after a reboot of a buffer nothing preserved',
    yaml: steps(...RETRIEVED, '- verify: { buffers: [src, dst] }'),
    problems: [
      problem(
        '15:30',
        'steps[7].verify.buffers[1]',
        'buffer "dst" does not survive the reboot at steps[5]: retrieve a session that preserves it (or fill it again) before verifying',
      ),
    ],
  },
  {
    name: 'verify after a reboot of a buffer filled again',
    yaml: steps(...RETRIEVED, '- fill: { buffers: [dst] }', '- verify: { buffers: [src, dst] }'),
    problems: [],
  },
  {
    name: 'verify after a reboot that expects the check to fail',
    yaml: steps('- kexec-load:', '- kexec-exec:', '- verify: { buffers: [src] }', '  expect: error'),
    problems: [],
  },
  {
    name: 'a device with both bdf and id',
    yaml: device('bdf: "0000:01:00.0"', 'id: "8086:10c9"', 'driver: igb'),
    problems: [problem('5:5', 'devices.nic.id', 'give "bdf" or "id", not both')],
  },
  {
    name: 'a device with neither bdf nor id',
    yaml: device('driver: igb'),
    problems: [problem('3:3', 'devices.nic', 'a device needs "bdf" or "id" to be found')],
  },
  {
    name: 'index with bdf',
    yaml: device('bdf: "0000:01:00.0"', 'index: 1', 'driver: igb'),
    problems: [
      problem('5:5', 'devices.nic.index', '"index" picks among devices matching "id"; with "bdf" it means nothing'),
    ],
  },
];

for (const c of SEMANTIC_CASES) {
  t.test(`semantics: ${c.name}`, async (t) => {
    const { actual, wanted } = compareProblems(checkScenarioText('case.yaml', c.yaml), c.problems);
    t.same(actual, wanted);
  });
}
