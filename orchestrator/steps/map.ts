// map: buffers for the device's DMA, an IOVA each in its address space.

import { defineStep, recorded } from './define.js';

export const map = defineStep('map', {
  model: (a: { device: string; buffers: string[] }) => ({ device: a.device, buffers: a.buffers }),
  label: (s) => `map ${s.buffers.join(',')} for ${s.device}`,
  devices: (s) => [s.device],
  check(c) {
    const device = c.needBound();
    const buffers = c.bufferList('buffers');
    if (!device) return;
    const mapped = c.flow.mapped.get(device) ?? c.flow.mapped.set(device, new Set()).get(device)!;
    for (const b of buffers) mapped.add(b);
  },
  run: async (s, ctx) =>
    recorded(await ctx.call('map', { device: s.device, buffers: s.buffers.map((b) => ctx.state.bufferParam(b)) })),
});
