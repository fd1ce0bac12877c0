// verify: buffers hold their pattern (or another buffer's, e.g. a copy's
// source); every corrupt byte is counted and the first runs named by offset.
// With copy-of, the canary of late DMA: which pages a copy wrote after its
// source was last rewritten.

import { PAGE, type CopyReport, type VerifyReport } from '../../contract/agent.js';
import { addMetric } from '../run/outcome.js';
import { parseSize, validBytes } from '../scenario/units.js';
import { defineStep } from './define.js';

interface Verify {
  buffers: string[];
  pattern?: string;
  copyOf?: string;
  sizeBytes?: number;
}

export function describeCorruption(buffer: string, r: VerifyReport): string {
  const first = r.mismatches[0];
  const where = first
    ? ` first at offset ${first.offset} (0x${first.offset.toString(16)}): expected ${first.expected}, found ${first.actual}`
    : '';
  return `buffer ${buffer}: ${r.badBytes} corrupt byte(s) in ${r.badPages} page(s);${where}`;
}

/** The canary's verdict on one destination, or undefined when it holds copies and none of them is late. */
export function judgeCopy(buffer: string, source: string, writer: string, c: CopyReport): string | undefined {
  if (c.latePages > 0) {
    const runs = c.late.map((r) => `0x${r.offset.toString(16)}+${r.length}`).join(', ');
    const listed = c.late.reduce((pages, r) => pages + Math.ceil(r.length / PAGE), 0);
    return `buffer ${buffer}: ${c.latePages} page(s) hold ${source} as written by ${writer}: DMA landed after it (at ${runs}${listed < c.latePages ? ', ...' : ''})`;
  }
  if (c.copiedPages === 0)
    return `buffer ${buffer}: no page holds a copy of ${source} (${c.untouchedPages} untouched): the canary cannot tell whether DMA came late`;
  return undefined;
}

export const verify = defineStep('verify', {
  model: (a): Verify => ({
    buffers: a.buffers,
    ...(a.pattern ? { pattern: a.pattern } : {}),
    ...(a['copy-of'] ? { copyOf: a['copy-of'] } : {}),
    ...(a.size !== undefined ? { sizeBytes: validBytes(a.size) } : {}),
  }),
  label: (s) =>
    `verify ${s.buffers.join(',')}${s.pattern ? ` as ${s.pattern}` : ''}${s.copyOf ? ` as a copy of ${s.copyOf}` : ''}`,
  check(c) {
    const buffers = c.bufferList('buffers');
    if (c.args.pattern !== undefined) c.mustExist('buffer', c.args.pattern, ['pattern']);
    const source = c.args['copy-of'];
    if (source !== undefined && c.mustExist('buffer', source, ['copy-of'])) {
      if (c.args.pattern !== undefined)
        c.report(['copy-of'], 'give "pattern" or "copy-of", not both: a copy is judged against its source already');
      if (buffers.includes(source)) c.report(['copy-of'], `buffer "${source}" cannot be checked as a copy of itself`);
    }
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
    // A buffer whose copy was SKIPped holds nothing to judge: the verify SKIPs with the copy's reason.
    const unwritten = s.buffers.filter((b) => ctx.state.unwritten.has(b));
    if (unwritten.length)
      return { detail: {}, skip: unwritten.map((b) => `buffer ${b}: ${ctx.state.unwritten.get(b)}`).join('; ') };
    const checks = s.buffers.map((b) => ({
      ...ctx.state.bufferParam(b),
      pattern: ctx.state.patternOf(s.pattern ?? b),
      ...(s.copyOf ? { copyOf: ctx.state.copyCheckOf(s.copyOf) } : {}),
      sizeBytes: s.sizeBytes ?? ctx.state.buffer(b).sizeBytes,
    }));
    const r = await ctx.call('verify', { buffers: checks });
    const problems: string[] = [];
    for (const [name, report] of Object.entries(r.reports)) {
      addMetric(ctx.metrics, 'verifiedBytes', report.bytes);
      addMetric(ctx.metrics, 'verifyMs', report.ms);
      if (report.badBytes > 0) problems.push(describeCorruption(name, report));
      if (s.copyOf) {
        const late = report.copy && judgeCopy(name, s.copyOf, ctx.state.writerOf(s.copyOf), report.copy);
        if (!report.copy) problems.push(`buffer ${name}: the agent did not judge it as a copy`);
        else if (late) problems.push(late);
      }
    }
    return problems.length ? { detail: r, fail: problems.join('; ') } : { detail: r };
  },
});
