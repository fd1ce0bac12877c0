// `lustress kernel build --tree`: which Live Update options a tree declares,
// what lustress asks of them, and which preservation handlers they stand
// for. Read from real Kconfig text (the cached linux-source tree) and from
// entries shaped like the posted series'; the build itself is make's.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { handlerOf, isTestOption, liveUpdateOptions, treeFragment } from '../../orchestrator/kernels/tree.js';
import { LUSTRESS_BIN } from '../../orchestrator/project.js';
import { cachedLinuxSource } from './helpers/kernel-headers.js';
import { prerequisiteMissing } from './helpers/prerequisite.js';

t.test('the options of a real tree: LUO and its memfd handler, and the test module left alone', async (t) => {
  const source = cachedLinuxSource();
  if (!source) return prerequisiteMissing(t, 'no unpacked linux-source tree in the cache (lustress setup makes one)');
  const files = ['kernel/liveupdate/Kconfig', 'lib/Kconfig.debug', 'mm/Kconfig'];
  const options = liveUpdateOptions(new Map(files.map((f) => [f, readFileSync(join(source.dir, f), 'utf8')])));
  t.same(
    options.map((o) => [o.symbol, o.prompt, o.file]),
    [
      ['LIVEUPDATE', 'Live Update Orchestrator', 'kernel/liveupdate/Kconfig'],
      ['LIVEUPDATE_MEMFD', 'Live update support for memfd', 'kernel/liveupdate/Kconfig'],
      ['LIVEUPDATE_TEST', 'Live Update Kernel Test', 'lib/Kconfig.debug'],
    ],
    `${source.name}`,
  );
  const fragment = treeFragment('CONFIG_FOO=y', options);
  t.match(fragment, /\nCONFIG_LIVEUPDATE=y\nCONFIG_LIVEUPDATE_MEMFD=y\n/);
  t.notMatch(fragment, /LIVEUPDATE_TEST/, 'the test module (mock handlers) is not turned on');
  t.same(
    options.map((o) => handlerOf(o.symbol)),
    [undefined, 'memfd', undefined],
  );
});

t.test('entries shaped like the series: each option, its prompt, the handler it stands for', async (t) => {
  const kconfig = [
    'config PCI_LIVEUPDATE',
    '\tbool "PCI core support for Live Update"',
    '\tdepends on LIVEUPDATE && PCI',
    '',
    'menuconfig VFIO_PCI_LIVEUPDATE',
    '\tbool',
    '\tprompt "VFIO PCI device preservation"',
    '',
    'config IOMMUFD_LIVEUPDATE',
    '\ttristate "iommufd preservation"',
    'config LIVE_UPDATE_GUEST_MEMFD',
    'endmenu',
    'config LIVEUPDATE_MEMFD_HUGETLB',
    '\tdef_bool y',
    'config PCI_LIVEUPDATE',
    '\tbool "declared twice: the first wins"',
    'config NOT_LIVE',
    '\tbool "LIVEUPDATE in a prompt is not a name"',
  ].join('\n');
  const options = liveUpdateOptions(new Map([['drivers/Kconfig', kconfig]]));
  t.same(
    options.map((o) => [o.symbol, o.prompt]),
    [
      ['PCI_LIVEUPDATE', 'PCI core support for Live Update'],
      ['VFIO_PCI_LIVEUPDATE', 'VFIO PCI device preservation'],
      ['IOMMUFD_LIVEUPDATE', 'iommufd preservation'],
      ['LIVE_UPDATE_GUEST_MEMFD', undefined],
      ['LIVEUPDATE_MEMFD_HUGETLB', undefined],
    ],
  );
  t.same(
    options.map((o) => handlerOf(o.symbol)),
    [undefined, 'vfio-device', 'iommufd', 'guest-memfd', 'memfd-hugetlb'],
  );
  t.equal(options.filter(isTestOption).length, 0);
  t.equal(handlerOf('KVM_LIVEUPDATE'), 'kvm-vm');
});

t.test('a directory that is not a kernel tree: a one-line error and exit 2', async (t) => {
  const r = await execa(process.execPath, [LUSTRESS_BIN, 'kernel', 'build', '--tree', t.testdirName], {
    reject: false,
  });
  t.equal(r.exitCode, 2);
  t.match(
    r.stderr,
    /^lustress kernel build: --tree .* is not a kernel source tree \(no Makefile and Kconfig at its top\)$/,
  );
});
