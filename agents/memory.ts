// The fill and verify steps: patterns written into and checked in buffers
// through their mappings (preserved memory is read where it lies).

import type { AgentMethods, AgentParams, AgentResult, VerifyReport } from '../contract/agent.js';
import type { Handlers } from '../contract/rpc.js';
import { BadRequest } from './errors.js';
import { fillPattern, verifyCopy, verifyPattern } from './patterns.js';
import type { AgentState } from './state.js';

/** The memory steps' methods over this boot's state. */
export function memoryMethods(state: AgentState): Pick<Handlers<AgentMethods>, 'fill' | 'verify' | 'corrupt'> {
  return {
    fill: (p) => fill(state, p),
    verify: (p) => verify(state, p),
    corrupt: (p) => corrupt(state, p),
  };
}

/** Writes each buffer's pattern (the fill step, and the rewrite of copies' sources at the exec). */
export function fill(state: AgentState, p: AgentParams<'fill'>): AgentResult<'fill'> {
  let bytes = 0;
  let ms = 0;
  for (const b of p.buffers) {
    const r = fillPattern(state.buffer(b).bytes, b.pattern, b.sizeBytes);
    bytes += r.bytes;
    ms += r.ms;
  }
  return { bytes, ms };
}

/** Reports, per buffer, what differs; judging them is the orchestrator's business. */
function verify(state: AgentState, p: AgentParams<'verify'>): AgentResult<'verify'> {
  const reports: Record<string, VerifyReport> = {};
  for (const b of p.buffers) {
    const bytes = state.existing(b.name).bytes;
    reports[b.name] = b.copyOf
      ? verifyCopy(bytes, b.pattern, b.copyOf, b.sizeBytes)
      : verifyPattern(bytes, b.pattern, b.sizeBytes);
  }
  return { reports };
}

/** A negative control: flips bits of one byte where the buffer lies, so a verify must find it. */
function corrupt(state: AgentState, p: AgentParams<'corrupt'>): AgentResult<'corrupt'> {
  const bytes = state.existing(p.buffer).bytes;
  if (p.offset >= bytes.length)
    throw new BadRequest(`offset ${p.offset} is outside buffer ${p.buffer} (${bytes.length} bytes)`);
  const before = bytes[p.offset]!;
  bytes[p.offset] = before ^ p.xor;
  return { offset: p.offset, before, after: bytes[p.offset]! };
}
