// memcpy-start: device copies from one mapped buffer to another, left running.

import { parseSize, validBytes } from '../scenario/units.js';
import { defineStep, recorded } from './define.js';

interface MemcpyStart {
  device: string;
  from: string;
  to: string;
  count: number;
  sizeBytes?: number;
  unmapped?: 'from' | 'to';
}

export const memcpyStart = defineStep('memcpy-start', {
  model: (a): MemcpyStart => ({
    device: a.device,
    from: a.from,
    to: a.to,
    count: a.count ?? 1,
    ...(a.size !== undefined ? { sizeBytes: validBytes(a.size) } : {}),
    ...(a.unmapped ? { unmapped: a.unmapped } : {}),
  }),
  label: (s) =>
    `memcpy-start ${s.device} ${s.unmapped === 'from' ? '(unmapped)' : s.from} -> ${s.unmapped === 'to' ? '(unmapped)' : s.to} x${s.count}`,
  devices: (s) => [s.device],
  check(c) {
    const device = c.needBound();
    c.flow.memcpyStarted = true;
    let smallest: { name: string; bytes: number } | undefined;
    for (const side of ['from', 'to'] as const) {
      const buffer = c.args[side];
      if (!c.mustExist('buffer', buffer, [side])) continue;
      if (device && c.args.unmapped !== side && !c.flow.mapped.get(device)?.has(buffer)) {
        c.report([side], `buffer "${buffer}" is not mapped for device "${device}"; add it to a map step first`);
      }
      const have = c.bufferSize(buffer);
      if (have !== undefined && (!smallest || have < smallest.bytes)) smallest = { name: buffer, bytes: have };
    }
    // One complaint about "size" even when both buffers are too small: the smaller one.
    const size = parseSize(c.args.size);
    if (size.ok && smallest && size.value > smallest.bytes)
      c.report(['size'], `copies ${size.value} bytes but buffer "${smallest.name}" holds ${smallest.bytes}`);
  },
  skipped: (s, state, reason) =>
    state.unwritten.set(s.to, `the copy into it at steps[${s.index}] did not run: ${reason}`),
  async run(s, ctx) {
    const r = await ctx.call('memcpy-start', {
      device: s.device,
      from: s.from,
      to: s.to,
      count: s.count,
      ...(s.sizeBytes ? { sizeBytes: s.sizeBytes } : {}),
      ...(s.unmapped ? { unmapped: s.unmapped } : {}),
    });
    // A copy may still be reading its source at the exec, which rewrites it then (kexec-exec).
    if (s.unmapped !== 'from') ctx.state.copying.set(s.device, s.from);
    ctx.state.unwritten.delete(s.to);
    return recorded(r);
  },
});
