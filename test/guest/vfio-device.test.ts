// The VFIO core in a guest: modes found by trying, regions and caps, config
// space, reset, interrupts, DMA mapping, cdev rules, binding, SR-IOV with VF
// tokens. On the live-update kernel in all four IOMMU modes; on Debian's
// kernel (container and type1 only, VFIO as modules) in the modes it has.

import t from 'tap';
import { runInGuest } from './in-guest.js';
import { guestIommuModes, inGuestFile, vfioGuest } from './vfio-guest.js';

const EXPECTED_MODES: Record<string, string[]> = {
  'live-update': ['type1', 'type1v2', 'iommufd-compat', 'iommufd'],
  debian: ['type1', 'type1v2'],
};

for (const kernel of ['live-update', 'debian']) {
  t.test(`the VFIO core on the ${kernel} kernel`, async (t) => {
    const target = await vfioGuest(t, kernel);
    if (!target) return;
    const modes = await guestIommuModes(target);
    t.same(modes, EXPECTED_MODES[kernel], `the ${kernel} kernel offers ${EXPECTED_MODES[kernel]!.join(', ')}`);
    await t.test('regions, config, reset, IRQs, DMA', (t) =>
      runInGuest(t, target, inGuestFile('vfio-device.guest'), ['-', modes.join(',')], 900_000),
    );
    await t.test('binding', (t) => runInGuest(t, target, inGuestFile('vfio-bind.guest'), [], 300_000));
    await t.test('SR-IOV and VF tokens', (t) =>
      runInGuest(t, target, inGuestFile('vfio-sriov.guest'), ['-', modes.join(',')], 600_000),
    );
  });
}
