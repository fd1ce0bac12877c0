// memcpy-wait: until every copy started on the device is done; the device's error fails it.

import { addMetric } from '../run/outcome.js';
import { defineStep } from './define.js';

export const memcpyWait = defineStep('memcpy-wait', {
  model: (a: { device: string }) => ({ device: a.device }),
  label: (s) => `memcpy-wait ${s.device}`,
  devices: (s) => [s.device],
  check(c) {
    c.needBound();
    if (!c.flow.memcpyStarted)
      c.report([], `nothing to wait for: no memcpy-start comes before this step${c.flow.sinceReboot}`, 'key');
  },
  async run(s, ctx) {
    ctx.state.copying.delete(s.device);
    const r = await ctx.call('memcpy-wait', { device: s.device });
    addMetric(ctx.metrics, 'dmaBytes', r.bytes);
    return { detail: r };
  },
});
