// send-msi: the device raises its MSI `count` times; the first one's arrival is timed.

import { defineStep } from './define.js';

export const sendMsi = defineStep('send-msi', {
  model: (a: { device: string; count: number }) => ({ device: a.device, count: a.count }),
  label: (s) => `send-msi ${s.device} x${s.count}`,
  devices: (s) => [s.device],
  check(c) {
    c.needBound();
  },
  async run(s, ctx) {
    const r = await ctx.call('send-msi', { device: s.device, count: s.count });
    if (r.firstMs !== undefined) ctx.metrics.msiLatencyMs = r.firstMs;
    return { detail: r };
  },
});
