// verify: buffers hold their pattern (or another buffer's, e.g. a copy's
// source); every corrupt byte is counted and the first runs named by offset.

import type { VerifyReport } from '../../contract/agent.js';
import { addMetric } from '../run/outcome.js';
import { parseSize, validBytes } from '../scenario/units.js';
import { defineStep } from './define.js';

interface Verify {
  buffers: string[];
  pattern?: string;
  sizeBytes?: number;
}

export function describeCorruption(buffer: string, r: VerifyReport): string {
  const first = r.mismatches[0];
  const where = first
    ? ` first at offset ${first.offset} (0x${first.offset.toString(16)}): expected ${first.expected}, found ${first.actual}`
    : '';
  return `buffer ${buffer}: ${r.badBytes} corrupt byte(s) in ${r.badPages} page(s);${where}`;
}

export const verify = defineStep('verify', {
  model: (a): Verify => ({
    buffers: a.buffers,
    ...(a.pattern ? { pattern: a.pattern } : {}),
    ...(a.size !== undefined ? { sizeBytes: validBytes(a.size) } : {}),
  }),
  label: (s) => `verify ${s.buffers.join(',')}${s.pattern ? ` as ${s.pattern}` : ''}`,
  check(c) {
    const buffers = c.bufferList('buffers');
    if (c.args.pattern !== undefined) c.mustExist('buffer', c.args.pattern, ['pattern']);
    // Like a copy's size: what it checks must lie inside every buffer it checks.
    const size = parseSize(c.args.size);
    const smallest = buffers
      .map((b) => ({ name: b, bytes: c.bufferSize(b) }))
      .sort((a, b) => (a.bytes ?? Infinity) - (b.bytes ?? Infinity))[0];
    if (size.ok && smallest?.bytes !== undefined && size.value > smallest.bytes) {
      c.report(['size'], `checks ${size.value} bytes but buffer "${smallest.name}" holds ${smallest.bytes}`);
    }
    if (c.flow.rebootedAt === undefined || c.expectsError) return;
    for (const b of buffers) {
      if (c.flow.liveBuffers.has(b)) continue;
      c.report(
        ['buffers', (c.args.buffers as unknown[]).indexOf(b)],
        `buffer "${b}" does not survive the reboot at steps[${c.flow.rebootedAt}]: retrieve a session that preserves it (or fill it again) before verifying`,
      );
    }
  },
  async run(s, ctx) {
    const checks = s.buffers.map((b) => ({
      ...ctx.state.bufferParam(b),
      pattern: ctx.state.patternOf(s.pattern ?? b),
      sizeBytes: s.sizeBytes ?? ctx.state.buffer(b).sizeBytes,
    }));
    const r = await ctx.call('verify', { buffers: checks });
    const problems: string[] = [];
    for (const [name, report] of Object.entries(r.reports)) {
      addMetric(ctx.metrics, 'verifiedBytes', report.bytes);
      addMetric(ctx.metrics, 'verifyMs', report.ms);
      if (report.badBytes > 0) problems.push(describeCorruption(name, report));
    }
    return problems.length ? { detail: r, fail: problems.join('; ') } : { detail: r };
  },
});
