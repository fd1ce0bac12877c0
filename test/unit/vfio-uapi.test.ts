// sys/uapi.ts against the real headers: a C program, compiled here
// with the system gcc, prints sizeof and offsetof of every struct and the
// value of every ioctl number and constant, and each must equal ours. Once
// against the Linux 7.2 uAPI (installed from the cached linux-source tree),
// and once against the system's /usr/include/linux/vfio.h for the structs it
// has. In CI a missing compiler or header fails; locally it skips.

import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { IOCTL, LIVEUPDATE, PCI, STRUCTS, STRUCT_HEADER, VFIO } from '../../sys/uapi.js';
import { cachedLinuxSource, installedUapiHeaders } from './helpers/kernel-headers.js';
import { prerequisiteMissing } from './helpers/prerequisite.js';

const SYSTEM_VFIO_H = '/usr/include/linux/vfio.h';
type StructName = keyof typeof STRUCTS;

/**
 * Members an older header does not have yet, as "struct.field": their offsets and the struct's size are not compared.
 */
type Missing = Set<string>;

const complete = (name: StructName, missing: Missing): boolean =>
  !Object.keys(STRUCTS[name].fields).some((f) => missing.has(`${name}.${f}`));

/** C source printing "size NAME N", "offset NAME FIELD N" and "value NAME N" lines. */
function program(structs: StructName[], headers: string[], withValues: boolean, missing: Missing = new Set()): string {
  const lines = [
    '#include <stdio.h>',
    '#include <stddef.h>',
    ...headers.map((h) => `#include <linux/${h}>`),
    'int main(void) {',
  ];
  for (const name of structs) {
    if (complete(name, missing)) lines.push(`  printf("size ${name} %zu\\n", sizeof(struct ${name}));`);
    for (const field of Object.keys(STRUCTS[name].fields)) {
      if (!missing.has(`${name}.${field}`))
        lines.push(`  printf("offset ${name} ${field} %zu\\n", offsetof(struct ${name}, ${field}));`);
    }
  }
  if (withValues) {
    for (const name of [...Object.keys(IOCTL), ...Object.keys(VFIO), ...Object.keys(PCI), ...Object.keys(LIVEUPDATE)]) {
      lines.push(`  printf("value ${name} %llu\\n", (unsigned long long)(${name}));`);
    }
  }
  lines.push('  return 0;', '}');
  return lines.join('\n');
}

function ours(structs: StructName[], withValues: boolean, missing: Missing = new Set()): string[] {
  const out: string[] = [];
  for (const name of structs) {
    if (complete(name, missing)) out.push(`size ${name} ${STRUCTS[name].size}`);
    for (const [field, offset] of Object.entries(STRUCTS[name].offsets)) {
      if (!missing.has(`${name}.${field}`)) out.push(`offset ${name} ${field} ${offset}`);
    }
  }
  if (withValues) {
    for (const table of [IOCTL, VFIO, PCI, LIVEUPDATE])
      for (const [name, value] of Object.entries(table)) out.push(`value ${name} ${value >>> 0}`);
  }
  return out;
}

async function compileAndRun(source: string, includeDir?: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-uapi-'));
  try {
    writeFileSync(join(dir, 'layout.c'), source);
    await execa('gcc', [
      '-Wall',
      '-Werror',
      ...(includeDir ? ['-I', includeDir] : []),
      '-o',
      join(dir, 'layout'),
      join(dir, 'layout.c'),
    ]);
    const { stdout } = await execa(join(dir, 'layout'));
    return stdout.trim().split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The members gcc says an (older) header lacks, from a failed compile's messages. */
async function membersMissing(structs: StructName[], headers: string[]): Promise<Missing> {
  const missing: Missing = new Set();
  const dir = mkdtempSync(join(tmpdir(), 'lustress-uapi-'));
  try {
    writeFileSync(join(dir, 'probe.c'), program(structs, headers, false));
    const r = await execa('gcc', ['-fsyntax-only', join(dir, 'probe.c')], { reject: false });
    for (const m of r.stderr.matchAll(/'struct (\w+)' has no member named '([\w.]+)'/g)) missing.add(`${m[1]}.${m[2]}`);
    for (const m of r.stderr.matchAll(/‘struct (\w+)’ has no member named ‘([\w.]+)’/g)) missing.add(`${m[1]}.${m[2]}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return missing;
}

t.test(
  'struct layouts, ioctl numbers and constants (VFIO, iommufd, LUO, KVM) match the Linux 7.2 uAPI headers',
  async (t) => {
    const gcc = await execa('gcc', ['--version'], { reject: false });
    if (gcc.exitCode !== 0) return prerequisiteMissing(t, 'no gcc (install gcc, as lustress setup does)');
    const source = cachedLinuxSource();
    if (!source)
      return prerequisiteMissing(
        t,
        'no unpacked linux-source tree in the cache (lustress setup builds the live-update kernel from one)',
      );
    const include = await installedUapiHeaders(source);
    t.ok(existsSync(join(include, 'linux', 'iommufd.h')), `${source.name} installed linux/iommufd.h`);
    const all = Object.keys(STRUCTS) as StructName[];
    const printed = await compileAndRun(
      program(all, ['vfio.h', 'iommufd.h', 'pci_regs.h', 'liveupdate.h', 'kvm.h'], true),
      include,
    );
    t.same(ours(all, true), printed, `every layout and value equals ${source.name}'s`);
  },
);

t.test("the structs the system's linux/vfio.h has are laid out the same there", async (t) => {
  if (!existsSync(SYSTEM_VFIO_H)) return prerequisiteMissing(t, `no ${SYSTEM_VFIO_H} (install linux-libc-dev)`);
  const text = readFileSync(SYSTEM_VFIO_H, 'utf8');
  const present = (Object.keys(STRUCTS) as StructName[]).filter(
    (n) => STRUCT_HEADER(n) === 'vfio.h' && new RegExp(`struct ${n}\\s*\\{`).test(text),
  );
  t.ok(present.length >= 10, `the system header has ${present.length} of the structs (the oldest ones)`);
  const absent = await membersMissing(present, ['vfio.h']);
  t.ok(absent.size < 8, `only a few members are newer than the system header (${[...absent].join(', ') || 'none'})`);
  const printed = await compileAndRun(program(present, ['vfio.h'], false, absent));
  t.same(ours(present, false, absent), printed, `layouts of ${present.join(', ')}`);
});
