// kexec-exec: the loaded kernel executed (after the seeded jitter, if any),
// the machine followed into its next boot; the blackout is exec to hello.

import { addMetric } from '../run/outcome.js';
import { defineStep } from './define.js';

export const kexecExec = defineStep('kexec-exec', {
  model: (): Record<string, never> => ({}),
  label: () => 'kexec-exec',
  timeout: (_s, t) => t.rebootMs,
  reboots: true,
  check(c) {
    if (c.flow.loadedAt === undefined)
      c.report([], 'no kernel is loaded: add a kexec-load step before this one', 'key');
    c.flow.reboot(c.index);
  },
  async run(_s, ctx) {
    if (ctx.jitterMs) {
      ctx.metrics.jitterMs = Math.floor(ctx.random() * (ctx.jitterMs + 1));
      await ctx.sleep(ctx.metrics.jitterMs);
    }
    const r = await ctx.reboot();
    ctx.metrics.blackoutMs = r.blackoutMs;
    // DMA still running at the exec: what it moved up to then counts as this iteration's.
    for (const d of r.dmaInFlight ?? []) addMetric(ctx.metrics, 'dmaBytes', d.bytesDone);
    const { dmaInFlight, ...rest } = r;
    return { detail: { ...rest, ...(dmaInFlight ? { dmaInFlight } : { instantApproximate: true }) } };
  },
});
