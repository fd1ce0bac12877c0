// Every driver there is, by name: one line per drivers/<name>/ folder.

import type { DriverName } from '../contract/devices.js';
import { DsaOps } from './dsa/dsa.js';
import { EduOps } from './edu/edu.js';
import { OpsDriver } from './framework.js';
import { IgbOps } from './igb/igb.js';
import { IoatOps } from './ioat/ioat.js';
import { NvFalconOps } from './nv_falcon/nv_falcon.js';
import { NvmeOps } from './nvme/nvme.js';
import type { Driver, DriverOps } from './ops.js';

export const DRIVERS: Record<DriverName, () => DriverOps> = {
  igb: () => new IgbOps(),
  edu: () => new EduOps(),
  nvme: () => new NvmeOps(),
  dsa: () => new DsaOps(),
  ioat: () => new IoatOps(),
  nv_falcon: () => new NvFalconOps(),
};

/** A fresh driver of that name (not yet probed). */
export function driverByName(name: string): Driver {
  const make = Object.hasOwn(DRIVERS, name) ? DRIVERS[name as DriverName] : undefined;
  if (!make) throw new Error(`no driver "${name}" (there are: ${Object.keys(DRIVERS).join(', ')})`);
  return new OpsDriver(make());
}
