// The PCI functions as the hello reports them, on this machine's own sysfs:
// ids, class and driver taken from each function's uevent agree with the
// attribute files and the driver link they summarise.

import t from 'tap';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PCI_DEVICES, pciFunctions } from '../../sys/sysfs.js';
import { prerequisiteMissing } from './helpers/prerequisite.js';

const attr = (bdf: string, name: string) =>
  readFileSync(join(PCI_DEVICES, bdf, name), 'utf8')
    .trim()
    .replace(/^0x/, '');

t.test("every function's ids, class and driver are what its attribute files say", async (t) => {
  const functions = pciFunctions();
  if (!functions.length) return prerequisiteMissing(t, 'this machine has no PCI functions in sysfs');
  for (const f of functions) {
    const link = join(PCI_DEVICES, f.bdf, 'driver');
    t.same(
      { vendor: f.vendor, device: f.device, class: f.class, driver: f.driver },
      {
        vendor: attr(f.bdf, 'vendor'),
        device: attr(f.bdf, 'device'),
        class: attr(f.bdf, 'class'),
        driver: existsSync(link) ? basename(readlinkSync(link)) : undefined,
      },
      f.bdf,
    );
  }
});
