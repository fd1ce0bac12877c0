// The kernel's VFIO selftests, built on the host from Debian's
// linux-source-7.3 (orchestrator/kernels/selftests.ts) and cached: `make` in
// tools/testing/selftests/vfio, then bench/dma's C reference linked against
// the library objects that make produced.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { withSelftestTree } from '../../orchestrator/kernels/selftests.js';

const REFERENCE_C = fileURLToPath(new URL('../../../bench/dma/reference.c', import.meta.url));
/** The library objects the selftests' make puts under libvfio/ (lib/libvfio.mk), x86 set. */
const LIBVFIO_OBJECTS = [
  'iommu',
  'iova_allocator',
  'libvfio',
  'sysfs',
  'vfio_pci_device',
  'vfio_pci_driver',
  'drivers/ioat/ioat',
  'drivers/dsa/dsa',
  'drivers/nv_falcon/nv_falcon',
  'drivers/igb/igb',
];

export interface Selftests {
  source: string;
  /** tools/testing/selftests/vfio/vfio_pci_driver_test */
  driverTest: string;
  /** bench/dma/reference.c built against the selftest library */
  reference: string;
}

export async function buildSelftests(log: (msg: string) => void = () => {}): Promise<Selftests> {
  return withSelftestTree(log, async ({ source, name }) => {
    const vfio = join(source, 'tools/testing/selftests/vfio');
    const built = {
      source,
      driverTest: join(vfio, 'vfio_pci_driver_test'),
      reference: join(vfio, 'lustress-dma-reference'),
    };
    const marker = join(vfio, '.lustress-built');
    if (existsSync(marker) && existsSync(built.reference)) return built;
    log(`building the VFIO selftests of ${name}`);
    await execa('make', ['-C', vfio], { stdin: 'ignore' });
    await execa('gcc', [
      '-O2',
      '-Wall',
      '-Werror',
      '-isystem',
      join(source, 'usr/include'),
      '-I',
      join(source, 'tools/include'),
      '-I',
      join(source, 'tools/testing/selftests'),
      '-I',
      join(vfio, 'lib/include'),
      REFERENCE_C,
      ...LIBVFIO_OBJECTS.map((o) => join(vfio, 'libvfio', `${o}.o`)),
      '-luuid',
      '-pthread',
      '-o',
      built.reference,
    ]);
    writeFileSync(marker, '');
    return built;
  });
}
