// The igb and edu drivers against the kernel's vfio_pci_driver_test cases:
// in every IOMMU mode the live-update kernel offers, and in type1 on
// Debian's kernel (VFIO and igb as modules), one guest per kernel.

import t from 'tap';
import { runInGuest } from './in-guest.js';
import { guestIommuModes, inGuestFile, vfioGuest } from './vfio-guest.js';

const RUNS = [
  { kernel: 'live-update', modes: ['type1', 'type1v2', 'iommufd-compat', 'iommufd'] },
  // One mode is enough to show the drivers on a distribution kernel; the modes themselves are covered above.
  { kernel: 'debian', modes: ['type1'] },
];

for (const { kernel, modes } of RUNS) {
  t.test(`drivers on the ${kernel} kernel in ${modes.join(', ')}`, async (t) => {
    const target = await vfioGuest(t, kernel);
    if (!target) return;
    const offered = await guestIommuModes(target);
    t.ok(
      modes.every((m) => offered.includes(m)),
      `the kernel offers ${modes.join(', ')} (it offers ${offered.join(', ')})`,
    );
    for (const driver of ['igb', 'edu', 'nvme']) {
      await t.test(driver, (t) =>
        runInGuest(t, target, inGuestFile('vfio-driver.guest'), [driver, modes.join(',')], 900_000),
      );
    }
  });
}
