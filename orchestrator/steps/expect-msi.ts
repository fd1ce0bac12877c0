// expect-msi: exactly `count` interrupts on the device's vector within the window.

import { validMs } from '../scenario/units.js';
import { defineStep } from './define.js';

export const expectMsi = defineStep('expect-msi', {
  model: (a: { device: string; count: number; within: string }) => ({
    device: a.device,
    count: a.count,
    withinMs: validMs(a.within),
  }),
  label: (s) => `expect-msi ${s.device} x${s.count}`,
  devices: (s) => [s.device],
  check(c) {
    c.needBound();
  },
  async run(s, ctx) {
    const r = await ctx.call('expect-msi', { device: s.device, count: s.count, withinMs: s.withinMs });
    if (r.count === s.count) return { detail: r };
    return { detail: r, fail: `expected exactly ${s.count} MSI(s) within ${s.withinMs} ms, counted ${r.count}` };
  },
});
