// The fill and verify steps: patterns written into and checked in buffers
// through their mappings (preserved memory is read where it lies).

import { fillPattern, verifyPattern, type PatternId, type VerifyReport } from './patterns.js';
import type { AgentState, BufferParam } from './state.js';
import { ERR, RpcError } from './protocol.js';

type WithPattern = BufferParam & { pattern: PatternId };

export function fill(state: AgentState, p: { buffers: WithPattern[] }): { bytes: number; ms: number } {
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
export function verify(state: AgentState, p: { buffers: WithPattern[] }): { reports: Record<string, VerifyReport> } {
  const reports: Record<string, VerifyReport> = {};
  for (const b of p.buffers) reports[b.name] = verifyPattern(state.existing(b.name).bytes, b.pattern, b.sizeBytes);
  return { reports };
}

/** A negative control: flips bits of one byte where the buffer lies, so a verify must find it. */
export function corrupt(state: AgentState, p: { buffer: string; offset: number; xor: number }): { offset: number; before: number; after: number } {
  const bytes = state.existing(p.buffer).bytes;
  if (!Number.isInteger(p.offset) || p.offset < 0 || p.offset >= bytes.length) throw new RpcError(ERR.invalidParams, `offset ${p.offset} is outside buffer ${p.buffer} (${bytes.length} bytes)`);
  const before = bytes[p.offset]!;
  bytes[p.offset] = before ^ p.xor;
  return { offset: p.offset, before, after: bytes[p.offset]! };
}
