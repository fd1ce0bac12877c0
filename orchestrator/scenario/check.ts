// Checks a schema cannot express: names that must exist, and the order steps
// need (bind before DMA, kexec-load before kexec-exec, preserve before the
// reboot that a retrieve follows). Runs on partly invalid data too, so that a
// file's problems are reported together: every access is guarded.

import { nearest, pathText, type ScenarioProblem } from './errors.js';
import { locate, type Source } from './source.js';
import { STEP_KINDS } from './model.js';
import { scenarioSchema } from './schema.js';
import { parseSize } from './units.js';

type Path = (string | number)[];

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
    const hint = guess ? `; did you mean "${guess}"?` : known.length ? `; ${kind}s are: ${known.join(', ')}` : `; the scenario defines no ${kind}s`;
    report(path, `no ${kind} named "${name}"${hint}`);
    return false;
  };

  for (const name of devices) {
    const d = data.devices[name];
    if (!isObj(d)) continue;
    const at: Path = ['devices', name];
    if (d.bdf === undefined && d.id === undefined) report(at, 'a device needs "bdf" or "id" to be found', 'key');
    if (d.bdf !== undefined && d.id !== undefined) report([...at, 'id'], 'give "bdf" or "id", not both', 'key');
    if (d.index !== undefined && d.index !== 0 && d.id === undefined) report([...at, 'index'], '"index" picks among devices matching "id"; with "bdf" it means nothing', 'key');
    if (d.target !== undefined && isObj(data.targets)) mustExist('target', targets, d.target, [...at, 'target']);
    if (d.target !== undefined && !isObj(data.targets)) report([...at, 'target'], 'names a target but the scenario has no "targets" (the default target is "default")');
  }

  if (!Array.isArray(data.steps)) return problems;
  const reboot = data.reboot === 'kexec' ? 'kexec' : 'liveupdate';
  // What each point in the steps list may rely on; cleared by a reboot.
  let bound = new Map<string, number>();
  let mapped = new Map<string, Set<string>>();
  let loadedAt: number | undefined;
  let boot = 0;
  let rebootedAt: number | undefined;
  const liveBuffers = new Set<string>(); // buffers known to hold data after the last reboot
  const sessions = new Map<string, { boot: number; buffers: string[]; retrievedIn?: number }>();
  let memcpyStarted = false;

  data.steps.forEach((step: unknown, i: number) => {
    if (!isObj(step)) return;
    const kind = STEP_KINDS.find((k) => Object.hasOwn(step, k));
    if (!kind) return;
    const args = step[kind];
    const at: Path = ['steps', i, kind];
    const a = isObj(args) ? args : {};
    const expectsError = step.expect === 'error';

    const sinceReboot = rebootedAt !== undefined ? ` since the reboot at steps[${rebootedAt}]` : '';
    const needBound = (key = 'device'): string | undefined => {
      if (!mustExist('device', devices, a[key], [...at, key])) return undefined;
      if (!bound.has(a[key])) {
        report([...at, key], `device "${a[key]}" is not bound${sinceReboot}; add a bind step before this one`);
        return undefined;
      }
      return a[key];
    };
    const bufferList = (key: string) => {
      strings(a[key]).forEach((b, j) => mustExist('buffer', buffers, b, [...at, key, j]));
      return strings(a[key]).filter((b) => buffers.includes(b));
    };

    switch (kind) {
      case 'bind': {
        if (!mustExist('device', devices, a.device, [...at, 'device'])) break;
        if (bound.has(a.device)) report([...at, 'device'], `device "${a.device}" is already bound at steps[${bound.get(a.device)}]`);
        bound.set(a.device, i);
        break;
      }
      case 'map': {
        const dev = needBound();
        const bufs = bufferList('buffers');
        if (dev) for (const b of bufs) (mapped.get(dev) ?? mapped.set(dev, new Set()).get(dev)!).add(b);
        break;
      }
      case 'fill':
        bufferList('buffers').forEach((b) => liveBuffers.add(b));
        break;
      case 'memcpy-start': {
        const dev = needBound();
        memcpyStarted = true;
        let smallest: { name: string; bytes: number } | undefined;
        for (const side of ['from', 'to'] as const) {
          if (!mustExist('buffer', buffers, a[side], [...at, side])) continue;
          if (dev && a.unmapped !== side && !mapped.get(dev)?.has(a[side])) {
            report([...at, side], `buffer "${a[side]}" is not mapped for device "${dev}"; add it to a map step first`);
          }
          const have = bufferSize(a[side]);
          if (have !== undefined && (!smallest || have < smallest.bytes)) smallest = { name: a[side], bytes: have };
        }
        // One complaint about "size" even when both buffers are too small: the smaller one.
        const size = parseSize(a.size);
        if (size.ok && smallest && size.value > smallest.bytes) {
          report([...at, 'size'], `copies ${size.value} bytes but buffer "${smallest.name}" holds ${smallest.bytes}`);
        }
        break;
      }
      case 'memcpy-wait':
        needBound();
        if (!memcpyStarted) report(at, `nothing to wait for: no memcpy-start comes before this step${sinceReboot}`, 'key');
        break;
      case 'send-msi':
      case 'expect-msi':
        needBound();
        break;
      case 'preserve': {
        if (reboot !== 'liveupdate') report(at, 'preserve needs "reboot: liveupdate"; this scenario does a plain kexec', 'key');
        const bufs = bufferList('buffers');
        strings(a.devices).forEach((d, j) => mustExist('device', devices, d, [...at, 'devices', j]));
        if (isName(a.session)) {
          const s = sessions.get(a.session);
          if (s && s.boot === boot) report([...at, 'session'], `session "${a.session}" is already preserved in this boot`);
          sessions.set(a.session, { boot, buffers: bufs });
        }
        // Only when both are left out: a bad list has its own message.
        if (isObj(args) && a.buffers === undefined && a.devices === undefined) report(at, 'preserves nothing: give "buffers" or "devices"', 'key');
        break;
      }
      case 'kexec-load':
        loadedAt = i;
        break;
      case 'kexec-exec':
        if (loadedAt === undefined) report(at, 'no kernel is loaded: add a kexec-load step before this one', 'key');
        boot++;
        rebootedAt = i;
        bound = new Map();
        mapped = new Map();
        loadedAt = undefined;
        liveBuffers.clear();
        memcpyStarted = false; // copies do not outlive the kernel that started them
        break;
      case 'retrieve': {
        if (!isName(a.session)) break;
        const s = sessions.get(a.session);
        if (!s) report([...at, 'session'], `no preserve step creates session "${a.session}" before this one${suggest(a.session, [...sessions.keys()])}`);
        else if (s.boot === boot) report([...at, 'session'], `session "${a.session}" was preserved in this same boot; retrieve comes after a kexec-exec`);
        else {
          s.retrievedIn = boot;
          s.buffers.forEach((b) => liveBuffers.add(b));
        }
        break;
      }
      case 'finish': {
        if (!isName(a.session)) break;
        const s = sessions.get(a.session);
        if (!s || s.retrievedIn !== boot) report([...at, 'session'], `session "${a.session}" is not retrieved in this boot; finish follows retrieve`);
        else sessions.delete(a.session);
        break;
      }
      case 'verify': {
        const bufs = bufferList('buffers');
        if (a.pattern !== undefined) mustExist('buffer', buffers, a.pattern, [...at, 'pattern']);
        if (rebootedAt !== undefined && !expectsError) {
          for (const b of bufs) {
            if (!liveBuffers.has(b)) {
              report([...at, 'buffers', strings(a.buffers).indexOf(b)], `buffer "${b}" does not survive the reboot at steps[${rebootedAt}]: retrieve a session that preserves it (or fill it again) before verifying`);
            }
          }
        }
        break;
      }
      case 'sleep':
        break;
      case 'corrupt': {
        if (!mustExist('buffer', buffers, a.buffer, [...at, 'buffer'])) break;
        const size = bufferSize(a.buffer);
        if (typeof a.offset === 'number' && size !== undefined && a.offset >= size) report([...at, 'offset'], `offset ${a.offset} is past the end of buffer "${a.buffer}" (${size} bytes)`);
        break;
      }
    }
  });
  return problems;
}

function suggest(name: string, known: string[]): string {
  const guess = nearest(name, known);
  return guess ? `; did you mean "${guess}"?` : '';
}
