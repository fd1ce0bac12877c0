// Binding: finding functions, the disposable gate, refusing a driver in use
// unless forced, group viability, and giving the device back to its driver
// (igb's host driver, built into the live-update kernel).
//   node vfio-bind.guest.js

import t from 'tap';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { ERR } from '../../contract/rpc.js';
import { memcpy } from '../../drivers/framework.js';
import { driverByName } from '../../drivers/registry.js';
import { bindToVfio, DmaBuffer, openVfioDevice, restoreDriver } from '../../drivers/vfio/index.js';
import { findPciFunctions, groupViability, iommuGroupOf } from '../../sys/sysfs.js';
import { currentDriver } from '../../sys/sysfs.js';
import { EDU_ID, IGB_ID, PERMIT, bdfOf, untimed } from './vfio-fixture.js';
import { NotPermitted } from '../../sys/errors.js';
import { toRpcError } from '../../agents/errors.js';
import { permitFor } from '../../agents/safety.js';

const igb = bdfOf(IGB_ID);
const netdevs = () => readdirSync(`/sys/bus/pci/devices/${igb}/net`);
untimed(t);

t.test('finding PCI functions', (t) => {
  t.same(
    findPciFunctions({ id: IGB_ID }).map((f) => f.bdf),
    [igb],
    'by vendor:device',
  );
  t.same(
    findPciFunctions({ id: IGB_ID.toUpperCase(), index: 0 }).map((f) => f.bdf),
    [igb],
    'by id and index, case-insensitive',
  );
  t.same(findPciFunctions({ id: IGB_ID, index: 1 }), [], 'index past the matches finds nothing');
  t.equal(findPciFunctions({ bdf: bdfOf(EDU_ID) })[0]?.device, '11e8', 'by BDF');
  t.throws(() => findPciFunctions({ bdf: '1:0.0' }), /not a PCI address/, 'a malformed BDF is refused');
  t.end();
});

t.test('a machine not marked disposable is refused before anything changes', async (t) => {
  const before = currentDriver(igb);
  const error = await bindToVfio(igb, { permit: permitFor(false) }).catch((e: unknown) => e);
  t.type(error, NotPermitted);
  t.equal(toRpcError(error).code, ERR.refused, 'refused, with the protocol code for it');
  t.equal(currentDriver(igb), before, 'the driver did not change');
});

t.test('a driver in use is kept unless forced; restore gives it back', async (t) => {
  t.equal(currentDriver(igb), 'igb', 'igb starts on its host driver');
  const [netdev] = netdevs();
  t.ok(netdev, `it has a network interface (${netdev})`);
  const flagsFile = `/sys/class/net/${netdev}/flags`;
  writeFileSync(flagsFile, `0x${(Number(readFileSync(flagsFile, 'utf8')) | 1).toString(16)}`); // IFF_UP
  const refused = await bindToVfio(igb, { permit: PERMIT }).then(
    () => undefined,
    (e: Error) => e,
  );
  t.match(
    refused?.message,
    new RegExp(`in use \\(network interface ${netdev} is up\\)`),
    'refused: the interface is up',
  );
  t.equal(currentDriver(igb), 'igb', 'still on igb');
  const bound = await bindToVfio(igb, { permit: PERMIT, force: true });
  t.equal(bound.previousDriver, 'igb', 'forced: taken from igb');
  t.equal(currentDriver(igb), 'vfio-pci', 'now on vfio-pci');
  t.same(
    groupViability(iommuGroupOf(igb)),
    { group: iommuGroupOf(igb), viable: true, blockers: [] },
    'its IOMMU group is viable',
  );
  t.same(
    await bindToVfio(igb, { permit: PERMIT }),
    { bdf: igb, group: iommuGroupOf(igb), vfioDriver: 'vfio-pci', changed: false },
    'binding again is a no-op',
  );
  t.equal(await restoreDriver(igb, { permit: PERMIT }), 'igb', 'restored to igb');
  t.equal(netdevs().length, 1, 'the network interface is back');
});

// virtio_vfio_pci is a variant driver whose id table is override-only: bound by driver_override it takes
// any function and, for one that is not a virtio VF, is plain vfio-pci-core. Only the live-update kernel has it.
const VARIANT = 'virtio_vfio_pci';

t.test('a variant driver through driver_override: bound, opened, driven, given back', async (t) => {
  const edu = bdfOf(EDU_ID);
  if (!release().includes('-lustress')) {
    const e = await bindToVfio(edu, { permit: PERMIT, vfioDriver: VARIANT }).catch((x: unknown) => x);
    t.match(e, { message: new RegExp(`the ${VARIANT} driver is not loaded \\(modprobe ${VARIANT}\\)`) });
    t.not(currentDriver(edu), VARIANT, 'and nothing was bound');
    return;
  }
  const bound = await bindToVfio(edu, { permit: PERMIT, vfioDriver: VARIANT });
  t.teardown(() => restoreDriver(edu, { permit: PERMIT }).then(() => undefined));
  t.match(bound, { vfioDriver: VARIANT, changed: true }, `edu moved to ${VARIANT}`);
  t.equal(currentDriver(edu), VARIANT, 'sysfs says so');
  t.equal(groupViability(iommuGroupOf(edu)).viable, true, 'its group is viable with a variant driver in it');
  const device = openVfioDevice({ bdf: edu, iommu: 'iommufd' });
  const driver = driverByName('edu');
  const buffer = DmaBuffer.create(1 << 20, { name: 'variant' });
  try {
    await driver.init(device);
    const iova = device.mapDma(buffer);
    for (let i = 0; i < 4096; i++) buffer.bytes[i] = (i * 7 + 3) & 0xff;
    await memcpy(driver, iova, iova + 65536n, 4096, 10_000);
    t.same(buffer.bytes.subarray(65536, 65536 + 4096), buffer.bytes.subarray(0, 4096), 'the copy arrived');
    await driver.remove();
  } finally {
    device.close();
    buffer.close();
  }
  t.match(
    await bindToVfio(edu, { permit: PERMIT }),
    { vfioDriver: 'vfio-pci', changed: true },
    'asked for vfio-pci, it moves from the variant',
  );
  t.equal(currentDriver(edu), 'vfio-pci');
  t.equal(await restoreDriver(edu, { permit: PERMIT }), undefined, 'given back: to no driver, as lustress found it');
});
