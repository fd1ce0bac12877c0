// The SR-IOV path on igb: VFs created with autoprobe off and bound to
// vfio-pci, and the kernel's vfio_pci_sriov_uapi_test in each IOMMU mode
// given: a VF opens only with the token its PF (owned by vfio-pci) set, also
// after the PF is closed, and after the token is overridden.
//   node vfio-sriov.guest.js - <mode,mode,...>

import t, { type Test } from 'tap';
import { VFIO_PCI, currentDriver, readAttr } from '../../sys/sysfs.js';
import { disableSriov, enableSriov, openVfioDevice, type VfioDevice } from '../../drivers/vfio/index.js';
import { SysError } from '../../sys/errors.js';
import { VFIO } from '../../sys/uapi.js';
import { sriovState } from '../../sys/sysfs.js';
import { type IommuMode } from '../../contract/devices.js';
import { IGB_ID, PERMIT, bdfOf, boundForTest, parseArgs, untimed } from './vfio-fixture.js';

const { modes } = parseArgs();
const pf = bdfOf(IGB_ID);
const UUID_1 = '52ac9bff-3a88-4fbd-901a-0d767c3b6c97';
const UUID_2 = '88594674-90a0-47a9-aea8-9d9b352ac08a';
const VARIANTS: [string, string | undefined][] = [
  ['same_uuid', UUID_1],
  ['diff_uuid', UUID_2],
  ['null_uuid', undefined],
];

let vf = '';

untimed(t);
t.before(async () => {
  await boundForTest(t, pf);
  const before = sriovState(pf)!;
  t.equal(before.numVfs, 0, 'no VFs to begin with');
  const vfs = await enableSriov(pf, 2, { permit: PERMIT });
  t.teardown(() => disableSriov(pf, { permit: PERMIT }));
  vf = vfs[0]!;
});

t.test('VFs are created unprobed and bound to vfio-pci', (t) => {
  const state = sriovState(pf)!;
  t.equal(state.numVfs, 2, 'two VFs');
  t.equal(readAttr(pf, 'sriov_drivers_autoprobe'), '0', 'autoprobe was turned off first');
  for (const v of state.vfs) {
    t.equal(currentDriver(v), VFIO_PCI, `${v} is bound to vfio-pci`);
    t.equal(`${readAttr(v, 'vendor')}:${readAttr(v, 'device')}`, '0x8086:0x10ca', `${v} is an 82576 VF`);
  }
  t.end();
});

function openOrError(bdf: string, iommu: IommuMode, vfToken?: string): VfioDevice | SysError {
  try {
    return openVfioDevice({ bdf, iommu, ...(vfToken ? { vfToken } : {}) });
  } catch (e) {
    if (e instanceof SysError) return e;
    throw e;
  }
}

for (const mode of modes) {
  for (const [variant, token] of VARIANTS) {
    const expect = (t: Test, result: VfioDevice | SysError, pfToken: string) => {
      const opens = token === pfToken;
      if (opens) t.notOk(result instanceof SysError, `the VF opens with the PF's token`, { error: String(result) });
      else {
        t.type(result, SysError, `the VF does not open ${token ? 'with another token' : 'without a token'}`);
        t.equal((result as SysError).bdf, vf, 'the error names the VF');
        t.match((result as SysError).message, /VF token/, 'the error says a VF token is needed');
      }
      if (!(result instanceof SysError)) {
        t.equal(result.deviceId, 0x10ca, 'the opened VF reads as an 82576 VF');
        t.ok(result.irqInfo(VFIO.VFIO_PCI_MSIX_IRQ_INDEX).count > 0, 'the VF has MSI-X vectors');
        result.close();
      }
    };
    t.test(`${mode} ${variant} init_token_match`, (t) => {
      const p = openVfioDevice({ bdf: pf, iommu: mode, vfToken: UUID_1 });
      try {
        expect(t, openOrError(vf, mode, token), UUID_1);
      } finally {
        p.close();
      }
      t.end();
    });
    t.test(`${mode} ${variant} pf_early_close`, (t) => {
      openVfioDevice({ bdf: pf, iommu: mode, vfToken: UUID_1 }).close();
      expect(t, openOrError(vf, mode, token), UUID_1);
      t.end();
    });
    t.test(`${mode} ${variant} override_token`, (t) => {
      const p = openVfioDevice({ bdf: pf, iommu: mode, vfToken: UUID_1 });
      try {
        p.setVfToken(UUID_2);
        expect(t, openOrError(vf, mode, token), UUID_2);
      } finally {
        p.close();
      }
      t.end();
    });
  }
}
