// The fill and verify steps: patterns written into and checked in buffers
// through their mappings (preserved memory is read where it lies).

import { fillPattern, verifyPattern, type PatternId, type VerifyReport } from './patterns.js';
import type { AgentState, BufferParam } from './state.js';

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
