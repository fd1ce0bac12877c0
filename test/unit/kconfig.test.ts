// Kernel configurations: parsing, feature verdicts, fragment checks, and
// IKCONFIG read back out of a real bzImage (the live-update kernel's).

import t from 'tap';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingOptions } from '../../orchestrator/kernels/build.js';
import { extractIkconfig, featureReport, parseConfig, readKernelConfig } from '../../orchestrator/kernels/kconfig.js';
import { kernelStatus } from '../../orchestrator/kernels/kernels.js';

const CONFIG = `
# CONFIG_IOMMUFD is not set
CONFIG_VFIO=m
CONFIG_VFIO_PCI=m
CONFIG_VFIO_CONTAINER=y
CONFIG_VFIO_IOMMU_TYPE1=m
CONFIG_KEXEC_FILE=y
CONFIG_LOCALVERSION="-lab"
`;

t.test('parseConfig keeps set options and drops "is not set"', async (t) => {
  const c = parseConfig(CONFIG);
  t.equal(c.get('VFIO'), 'm');
  t.equal(c.get('LOCALVERSION'), '-lab');
  t.notOk(c.has('IOMMUFD'));
});

t.test('features: modules count only where the guest can load them', async (t) => {
  const verdict = (loadable: boolean) =>
    new Map(featureReport(parseConfig(CONFIG), loadable).map((f) => [f.feature, f]));
  t.equal(verdict(true).get('vfio-type1')!.ok, true, 'with its modules the kernel has type1');
  t.same(verdict(false).get('vfio-type1')!.missing, [
    'CONFIG_VFIO=m (needs =y)',
    'CONFIG_VFIO_PCI=m (needs =y)',
    'CONFIG_VFIO_IOMMU_TYPE1=m (needs =y)',
  ]);
  t.same(verdict(true).get('iommufd')!.missing, ['CONFIG_IOMMUFD', 'CONFIG_VFIO_DEVICE_CDEV']);
  t.equal(verdict(true).get('kexec')!.ok, true);
  t.equal(verdict(true).get('liveupdate')!.ok, false);
});

t.test('a fragment check: the last line for an option wins, =n must stay unset', async (t) => {
  const fragment = 'CONFIG_A=y\nCONFIG_B=n\nCONFIG_C=y\nCONFIG_C=n\nCONFIG_D="x"\n';
  t.same(missingOptions(fragment, 'CONFIG_A=y\nCONFIG_D="x"\n'), []);
  t.same(missingOptions(fragment, 'CONFIG_B=y\nCONFIG_C=y\nCONFIG_D="y"\n'), [
    'CONFIG_A: wanted y, got not set',
    'CONFIG_B: wanted n, got y',
    'CONFIG_C: wanted n, got y',
    'CONFIG_D: wanted x, got y',
  ]);
});

t.test('IKCONFIG is read out of the live-update bzImage', async (t) => {
  const status = await kernelStatus('live-update').catch(() => undefined);
  if (!status?.image) {
    if (process.env.CI === 'true') t.fail('the live-update kernel is not built (lustress setup builds it)');
    else t.plan(0, 'the live-update kernel is not built');
    return;
  }
  const config = await extractIkconfig(status.image);
  t.ok(config, 'a configuration is embedded');
  t.equal(parseConfig(config!).get('LIVEUPDATE'), 'y');
  // Copied away from its config file, the image still tells its configuration.
  const lonely = join(mkdtempSync(join(tmpdir(), 'lustress-ikconfig-')), 'bzImage');
  copyFileSync(status.image, lonely);
  const found = await readKernelConfig(lonely);
  t.match(found?.source, /\(IKCONFIG\)$/);
  t.equal(found?.config.get('IOMMUFD'), 'y');
});
