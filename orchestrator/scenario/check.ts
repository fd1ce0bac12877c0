// Checks a schema cannot express: names that must exist, and the order steps
// need (bind before DMA, kexec-load before kexec-exec, preserve before the
// reboot that a retrieve follows), each step's by its kind's module. Runs on
// partly invalid data too, so that a file's problems are reported together:
// every access is guarded.

import { driverClaiming } from '../../contract/devices.js';
import { MAX_BUFFER_BYTES } from '../../contract/agent.js';
import { definitionOf } from '../steps/index.js';
import type { CheckContext, Path } from '../steps/define.js';
import { nearest, pathText, type ScenarioProblem } from './errors.js';
import { Flow } from './flow.js';
import { kindOf } from './model.js';
import { scenarioSchema } from './schema.js';
import { locate, type Source } from './source.js';
import {
  DEFAULT_GUEST_MEMORY,
  GUEST_HUGE_PAGES,
  GUEST_RESERVED_BYTES,
  HUGE_PAGE_BYTES,
  MAX_GUEST_MEMORY,
  MIN_GUEST_MEMORY,
} from './spec.js';
import { formatSize, parseSize } from './units.js';

const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter(isStr) : []);

export function checkSemantics(source: Source, data: unknown): ScenarioProblem[] {
  if (!isObj(data)) return [];
  const problems: ScenarioProblem[] = [];
  // A reference that is not even a valid name already has the schema's message; one is enough.
  const namePattern = new RegExp(scenarioSchema().definitions.name.pattern);
  const isName = (v: unknown): v is string => isStr(v) && namePattern.test(v);
  const report = (path: Path, message: string, want: 'key' | 'value' = 'value') => {
    const pos = locate(source, path, want);
    problems.push({ file: source.file, line: pos.line, col: pos.col, path: pathText(path), message });
  };
  const names = (section: string) => (isObj(data[section]) ? Object.keys(data[section]) : []);
  const targets = names('targets');
  const devices = names('devices');
  const buffers = names('buffers');
  const bufferSize = (name: string): number | undefined => {
    const b = data.buffers?.[name];
    const p = isObj(b) ? parseSize(b.size) : undefined;
    return p?.ok ? p.value : undefined;
  };
  const mustExist = (kind: string, known: string[], name: unknown, path: Path): boolean => {
    if (!isName(name)) return false;
    if (known.includes(name)) return true;
    const guess = nearest(name, known);
    const hint = guess
      ? `; did you mean "${guess}"?`
      : known.length
        ? `; ${kind}s are: ${known.join(', ')}`
        : `; the scenario defines no ${kind}s`;
    report(path, `no ${kind} named "${name}"${hint}`);
    return false;
  };

  for (const name of devices) {
    const d = data.devices[name];
    if (!isObj(d)) continue;
    const at: Path = ['devices', name];
    if (d.bdf === undefined && d.id === undefined) report(at, 'a device needs "bdf" or "id" to be found', 'key');
    if (d.bdf !== undefined && d.id !== undefined) report([...at, 'id'], 'give "bdf" or "id", not both', 'key');
    if (d.index !== undefined && d.index !== 0 && d.id === undefined)
      report([...at, 'index'], '"index" picks among devices matching "id"; with "bdf" it means nothing', 'key');
    if (d.target !== undefined && isObj(data.targets)) mustExist('target', targets, d.target, [...at, 'target']);
    if (d.driver === undefined && d.bdf !== undefined) {
      report(
        at,
        'a device chosen by "bdf" needs "driver": which device sits at a BDF is known only on the machine',
        'key',
      );
    }
    if (
      d.driver === undefined &&
      isStr(d.id) &&
      /^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$/.test(d.id) &&
      !driverClaiming(d.id)
    ) {
      report([...at, 'id'], `no lustress driver claims ${d.id} (lustress drivers lists them): give "driver"`);
    }
    const driver = d.driver ?? (isStr(d.id) ? driverClaiming(d.id) : undefined);
    if (d.scratch !== undefined && driver !== undefined && driver !== 'nvme') {
      report(
        [...at, 'scratch'],
        `"scratch" is the namespace an nvme device copies through; the ${driver} driver overwrites nothing`,
        'key',
      );
    }
    if (driver === 'nvme' && d.scratch === undefined) {
      // A copy destroys what the namespace holds: only a guest's own image may be used without saying so.
      const hosts = isObj(data.targets)
        ? Object.entries(data.targets).filter(
            ([name, t]) => isObj(t) && !isObj(t.qemu) && (d.target === undefined || d.target === name),
          )
        : [];
      if (hosts.length) {
        report(
          at,
          `an nvme device on ${hosts.map(([n]) => `target "${n}"`).join(', ')} needs "scratch": the namespace and LBA range its copies may overwrite`,
          'key',
        );
      }
    }
    if (d.target !== undefined && !isObj(data.targets))
      report([...at, 'target'], 'names a target but the scenario has no "targets" (the default target is "default")');
  }

  checkResources(data, report, bufferSize);
  for (const name of targets) {
    const agent = data.targets[name]?.ssh?.agent;
    // Whether a host may be rebooted is the scenario's `disposable`, stated where plan shows it, never smuggled in.
    if (isStr(agent) && /(^|\s)--disposable(\s|=|$)/.test(agent)) {
      report(
        ['targets', name, 'ssh', 'agent'],
        'the agent command may not pass --disposable: say disposable: true (lustress adds the flag then)',
      );
    }
  }

  if (!Array.isArray(data.steps)) return problems;
  const reboot = data.reboot === 'kexec' ? 'kexec' : 'liveupdate';
  const flow = new Flow();
  const known = { device: devices, buffer: buffers, target: targets };

  data.steps.forEach((step: unknown, index: number) => {
    if (!isObj(step)) return;
    const kind = kindOf(step);
    if (!kind) return;
    const raw = step[kind];
    const at: Path = ['steps', index, kind];
    const args = isObj(raw) ? raw : {};
    const c: CheckContext = {
      args,
      raw,
      index,
      expectsError: step.expect === 'error',
      reboot,
      flow,
      isName,
      bufferSize,
      deviceIommu: (name) => {
        const d = data.devices?.[name];
        const written = isObj(d) && d.iommu !== undefined;
        return {
          mode: written ? d.iommu : scenarioSchema().definitions.device.properties.iommu.default,
          path: written ? ['devices', name, 'iommu'] : ['devices', name],
        };
      },
      report: (path, message, want) => report([...at, ...path], message, want),
      mustExist: (what, name, path): name is string => mustExist(what, known[what], name, [...at, ...path]),
      needBound(key = 'device') {
        if (!mustExist('device', devices, args[key], [...at, key])) return undefined;
        if (!flow.bound.has(args[key])) {
          report(
            [...at, key],
            `device "${args[key]}" is not bound${flow.sinceReboot}; add a bind step before this one`,
          );
          return undefined;
        }
        return args[key];
      },
      bufferList(key) {
        strings(args[key]).forEach((b, j) => mustExist('buffer', buffers, b, [...at, key, j]));
        return strings(args[key]).filter((b) => buffers.includes(b));
      },
    };
    definitionOf(kind).check(c);
  });
  return problems;
}

/**
 * Sizes the targets can hold: every buffer within lustress's bound, guests
 * within theirs, and on each QEMU guest the buffers within what its memory
 * leaves after its kernel and agent (huge-page buffers within the pages it
 * reserves). A scenario that cannot fit is refused here, not mid-run.
 */
function checkResources(
  data: Record<string, any>,
  report: (path: Path, message: string, want?: 'key' | 'value') => void,
  bufferSize: (name: string) => number | undefined,
): void {
  const buffers = isObj(data.buffers) ? Object.keys(data.buffers) : [];
  let total = 0;
  let huge = 0;
  for (const name of buffers) {
    const size = bufferSize(name);
    if (size === undefined) continue;
    if (size > MAX_BUFFER_BYTES)
      report(
        ['buffers', name, 'size'],
        `${formatSize(size)} is more than lustress maps for one buffer (${formatSize(MAX_BUFFER_BYTES)})`,
      );
    total += size;
    if (data.buffers[name]?.backing === 'hugetlb') huge += Math.ceil(size / HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
  }
  const guests: { name: string; memory: number; at: Path }[] = [];
  if (isObj(data.targets)) {
    for (const [name, t] of Object.entries(data.targets)) {
      if (!isObj(t) || !isObj(t.qemu)) continue;
      const at: Path = ['targets', name, 'qemu', 'memory'];
      const memory = t.qemu.memory === undefined ? DEFAULT_GUEST_MEMORY : parseSize(t.qemu.memory);
      const bytes = typeof memory === 'number' ? memory : memory.ok ? memory.value : undefined;
      if (bytes === undefined) continue;
      if (bytes < MIN_GUEST_MEMORY || bytes > MAX_GUEST_MEMORY) {
        report(
          at,
          `a guest has ${formatSize(MIN_GUEST_MEMORY)} to ${formatSize(MAX_GUEST_MEMORY)} of memory, not ${formatSize(bytes)}`,
        );
        continue;
      }
      guests.push({ name, memory: bytes, at: t.qemu.memory === undefined ? ['targets', name, 'qemu'] : at });
    }
  } else if (data.targets === undefined) {
    guests.push({ name: 'default', memory: DEFAULT_GUEST_MEMORY, at: ['buffers'] });
  }
  for (const g of guests) {
    const room = g.memory - GUEST_RESERVED_BYTES;
    if (total > room) {
      report(
        ['buffers'],
        `the buffers hold ${formatSize(total)} in all, more than guest "${g.name}" (${formatSize(g.memory)}) has for them after ${formatSize(GUEST_RESERVED_BYTES)} for its kernel and agent: give it more memory or the buffers less`,
        'key',
      );
    }
    if (huge > GUEST_HUGE_PAGES * HUGE_PAGE_BYTES) {
      report(
        ['buffers'],
        `the hugetlb buffers need ${formatSize(huge)} of huge pages; guest "${g.name}" reserves ${GUEST_HUGE_PAGES} of ${formatSize(HUGE_PAGE_BYTES)} (${formatSize(GUEST_HUGE_PAGES * HUGE_PAGE_BYTES)})`,
        'key',
      );
    }
  }
}
