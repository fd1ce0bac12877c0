// corrupt: a negative control; one byte's bits flipped where the buffer lies, for a later verify to catch.

import { defineStep, recorded } from './define.js';

export const corrupt = defineStep('corrupt', {
  model: (a: { buffer: string; offset: number; xor: number }) => ({ buffer: a.buffer, offset: a.offset, xor: a.xor }),
  label: (s) => `corrupt ${s.buffer} at ${s.offset}`,
  check(c) {
    if (!c.mustExist('buffer', c.args.buffer, ['buffer'])) return;
    const size = c.bufferSize(c.args.buffer);
    if (typeof c.args.offset === 'number' && size !== undefined && c.args.offset >= size) {
      c.report(['offset'], `offset ${c.args.offset} is past the end of buffer "${c.args.buffer}" (${size} bytes)`);
    }
  },
  run: async (s, ctx) => recorded(await ctx.call('corrupt', { buffer: s.buffer, offset: s.offset, xor: s.xor })),
});
