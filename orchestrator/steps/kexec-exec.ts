// kexec-exec: the loaded kernel executed (after the seeded jitter, if any),
// the machine followed into its next boot; the blackout is exec to hello.
// The sources of copies still running are rewritten in a new generation at
// the last moment before the exec: a destination page holding that
// generation afterwards was copied after it (verify's copy-of tells).

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
  async run(s, ctx) {
    if (ctx.jitterMs) {
      ctx.metrics.jitterMs = Math.floor(ctx.random() * (ctx.jitterMs + 1));
      await ctx.sleep(ctx.metrics.jitterMs);
    }
    const sources = [...new Set(ctx.state.copying.values())];
    const rewrite = sources.map((b) => ({
      ...ctx.state.bufferParam(b),
      pattern: ctx.state.filled(b, `its rewrite at the last moment before the kexec-exec at steps[${s.index}]`),
    }));
    const r = await ctx.reboot({ rewrite });
    ctx.metrics.blackoutMs = r.blackoutMs;
    if (r.breakdown) {
      ctx.metrics.kernelBlackoutMs = r.breakdown.kernelMs;
      ctx.metrics.userspaceMs = r.breakdown.initMs + r.breakdown.agentMs;
    }
    // DMA still running at the exec: what it moved up to then counts as this iteration's.
    for (const d of r.dmaInFlight ?? []) addMetric(ctx.metrics, 'dmaBytes', d.bytesDone);
    ctx.state.inFlightAtExec = r.dmaInFlight ?? [];
    const { dmaInFlight, ...rest } = r;
    return {
      detail: {
        ...rest,
        ...(dmaInFlight ? { dmaInFlight } : { instantApproximate: true }),
        ...(sources.length ? { rewrittenAtExec: sources } : {}),
      },
    };
  },
});
