// fill: each buffer's pattern, in a fresh generation (so a stale copy of an older fill never verifies).

import { defineStep, recorded } from './define.js';

export const fill = defineStep('fill', {
  model: (a: { buffers: string[] }) => ({ buffers: a.buffers }),
  label: (s) => `fill ${s.buffers.join(',')}`,
  check(c) {
    for (const b of c.bufferList('buffers')) c.flow.liveBuffers.add(b);
  },
  run: async (s, ctx) =>
    recorded(
      await ctx.call('fill', {
        buffers: s.buffers.map((b) => ({
          ...ctx.state.bufferParam(b),
          pattern: ctx.state.filled(b, `the fill at steps[${s.index}]`),
        })),
      }),
    ),
});
