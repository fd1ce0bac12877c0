// bind: the device to vfio-pci (or its variant driver), opened in its iommu mode, its driver initialised.

import type { DeviceParam } from '../../contract/agent.js';
import type { DeviceSpec, TargetSpec } from '../scenario/spec.js';
import { defineStep, recorded } from './define.js';

/** The whole first namespace: what an nvme device of a QEMU target copies through (lustress made its image). */
const GUEST_IMAGE_SCRATCH = { namespace: 1, firstLba: 0 };

/** The device as the agent needs it to find and open it, on this kind of target. */
export function deviceParam(d: DeviceSpec, target: TargetSpec): DeviceParam {
  const scratch = d.scratch ?? (d.driver === 'nvme' && target.kind === 'qemu' ? GUEST_IMAGE_SCRATCH : undefined);
  return {
    name: d.name,
    ...(d.bdf ? { bdf: d.bdf } : {}),
    ...(d.id ? { id: d.id, index: d.index } : {}),
    ...(d.vf !== undefined ? { vf: d.vf } : {}),
    driver: d.driver,
    vfioDriver: d.vfioDriver,
    iommu: d.iommu,
    force: d.force,
    ...(scratch ? { scratch } : {}),
  };
}

export const bind = defineStep('bind', {
  model: (a: { device: string }) => ({ device: a.device }),
  label: (s) => `bind ${s.device}`,
  devices: (s) => [s.device],
  check(c) {
    const device = c.args.device;
    if (!c.mustExist('device', device, ['device'])) return;
    const at = c.flow.bound.get(device);
    if (at !== undefined) c.report(['device'], `device "${device}" is already bound at steps[${at}]`);
    c.flow.bound.set(device, c.index);
  },
  run: async (s, ctx) =>
    recorded(await ctx.call('bind', { device: deviceParam(ctx.state.device(s.device), ctx.spec) })),
});
