// Binding: finding functions, the disposable gate, refusing a driver in use
// unless forced, group viability, and giving the device back to its driver
// (igb's host driver, built into the live-update kernel).
//   node vfio-bind.guest.js

import t from 'tap';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { ERR } from '../../contract/rpc.js';
import { bindToVfio, restoreDriver } from '../../drivers/vfio/index.js';
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
    { bdf: igb, group: iommuGroupOf(igb), changed: false },
    'binding again is a no-op',
  );
  t.equal(await restoreDriver(igb, { permit: PERMIT }), 'igb', 'restored to igb');
  t.equal(netdevs().length, 1, 'the network interface is back');
});
