// map: buffers for the device's DMA, an IOVA each in its address space;
// with `iova`, pinned there one after another (a preserved device's mappings
// are rebuilt at the same addresses after the reboot).

import { PAGE } from '../../contract/agent.js';
import { parseSize, validBytes } from '../scenario/units.js';
import { defineStep, recorded } from './define.js';

export const map = defineStep('map', {
  model: (a: { device: string; buffers: string[]; iova?: string | number }) => ({
    device: a.device,
    buffers: a.buffers,
    ...(a.iova !== undefined ? { iova: validBytes(a.iova) } : {}),
  }),
  label: (s) =>
    `map ${s.buffers.join(',')} for ${s.device}${s.iova !== undefined ? ` at 0x${s.iova.toString(16)}` : ''}`,
  devices: (s) => [s.device],
  check(c) {
    const device = c.needBound();
    const buffers = c.bufferList('buffers');
    const iova = parseSize(c.args.iova);
    if (iova.ok && iova.value % PAGE !== 0)
      c.report(['iova'], `an IOVA is page-aligned (a multiple of ${PAGE}); ${iova.value} is not`);
    if (!device) return;
    const mapped = c.flow.mapped.get(device) ?? c.flow.mapped.set(device, new Set()).get(device)!;
    for (const b of buffers) mapped.add(b);
    if (c.args.iova === undefined) return;
    const pinned = c.flow.pinned.get(device) ?? c.flow.pinned.set(device, new Set()).get(device)!;
    for (const b of buffers) pinned.add(b);
  },
  run: async (s, ctx) =>
    recorded(
      await ctx.call('map', {
        device: s.device,
        buffers: s.buffers.map((b) => ctx.state.bufferParam(b)),
        ...(s.iova !== undefined ? { iova: String(s.iova) } : {}),
      }),
    ),
});
