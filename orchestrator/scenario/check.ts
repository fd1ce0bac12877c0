// Checks a schema cannot express: names that must exist, and the order steps
// need (bind before DMA, kexec-load before kexec-exec, preserve before the
// reboot that a retrieve follows), each step's by its kind's module. Runs on
// partly invalid data too, so that a file's problems are reported together:
// every access is guarded.

import { definitionOf } from '../steps/index.js';
import type { CheckContext, Path } from '../steps/define.js';
import { nearest, pathText, type ScenarioProblem } from './errors.js';
import { Flow } from './flow.js';
import { kindOf } from './model.js';
import { scenarioSchema } from './schema.js';
import { locate, type Source } from './source.js';
import { parseSize } from './units.js';

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
    if (d.target !== undefined && !isObj(data.targets))
      report([...at, 'target'], 'names a target but the scenario has no "targets" (the default target is "default")');
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
