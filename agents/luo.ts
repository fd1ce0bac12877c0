// The LUO steps: preserve buffers (and devices, where the kernel can) in a
// session before the exec; retrieve them after it; finish. A file kind the
// kernel has no handler for makes the step a SKIP "not supported by this
// kernel", never a pass.

import type { AgentMethods, AgentParams, AgentResult, Refusal } from '../contract/agent.js';
import { ERR, RpcError, type Handlers } from '../contract/rpc.js';
import { DmaBuffer } from '../drivers/vfio/dma-buffer.js';
import { UNSUPPORTED_ERRNOS, type LuoSession } from '../kexec/luo.js';
import { SysError, type Permit } from '../sys/errors.js';
import type { AgentState } from './state.js';

/** The LUO steps' methods over this boot's state. */
export function luoMethods(
  state: AgentState,
  permit: Permit,
): Pick<Handlers<AgentMethods>, 'preserve' | 'retrieve' | 'finish'> {
  return {
    preserve: (p) => {
      permit.allow(`preserve session ${p.session} for a live update (LUO)`);
      return preserve(state, p);
    },
    retrieve: (p) => {
      permit.allow(`retrieve LUO session ${p.session}`);
      return retrieve(state, p);
    },
    finish: (p) => {
      permit.allow(`finish LUO session ${p.session}`);
      return finish(state, p);
    },
  };
}

/** Preserves one file; undefined when done, the refusal when the kernel has no handler for it. */
function preserveOne(session: LuoSession, fd: number, token: bigint, what: string): Refusal | undefined {
  try {
    session.preserve(fd, token);
    return undefined;
  } catch (e) {
    if (e instanceof SysError && UNSUPPORTED_ERRNOS.has(e.code)) return { what, errno: e.code };
    throw e;
  }
}

function preserve(state: AgentState, p: AgentParams<'preserve'>): AgentResult<'preserve'> {
  if (state.sessions.has(p.session))
    throw new RpcError(ERR.failed, `session ${p.session} is already open in this boot`);
  const session = state.withLiveUpdate((lu) => lu.createSession(p.session));
  state.sessions.set(p.session, session);
  const tokens: Record<string, string> = {};
  const unsupported: Refusal[] = [];
  let token = 1n;
  for (const b of p.buffers) {
    const refused = preserveOne(session, state.buffer(b).fd, token, `${b.backing} buffer ${b.name}`);
    if (refused) unsupported.push(refused);
    else tokens[b.name] = String(token);
    token++;
  }
  for (const name of p.devices) {
    const device = state.devices.get(name);
    if (!device) throw new RpcError(ERR.failed, `device ${name} is not bound in this boot`);
    for (const f of device.preservableFds()) {
      const refused = preserveOne(session, f.fd, token++, `${f.kind} fd of ${name}`);
      if (refused) unsupported.push(refused);
    }
  }
  return { tokens, unsupported };
}

function retrieve(state: AgentState, p: AgentParams<'retrieve'>): AgentResult<'retrieve'> {
  const session = state.withLiveUpdate((lu) => lu.retrieveSession(p.session));
  state.sessions.set(p.session, session);
  for (const b of p.buffers) {
    const fd = session.retrieve(BigInt(b.token));
    state.buffers.get(b.name)?.close();
    state.buffers.set(b.name, DmaBuffer.fromFd(fd, b.sizeBytes));
  }
  return { buffers: p.buffers.map((b) => b.name) };
}

function finish(state: AgentState, p: AgentParams<'finish'>): AgentResult<'finish'> {
  const session = state.sessions.get(p.session);
  if (!session) throw new RpcError(ERR.failed, `session ${p.session} was not retrieved in this boot`);
  session.finish();
  session.close();
  state.sessions.delete(p.session);
  return {};
}

/** Which kinds of file this kernel's LUO accepts, found by trying in a throwaway session. */
export function probePreservable(
  state: AgentState,
  candidates: { kind: string; fd: number }[],
): Record<string, string> {
  const session = state.withLiveUpdate((lu) => lu.createSession(`lustress-probe-${process.pid}`));
  try {
    const verdicts: Record<string, string> = {};
    let token = 1n;
    for (const c of candidates) verdicts[c.kind] = preserveOne(session, c.fd, token++, c.kind)?.errno ?? 'ok';
    return verdicts;
  } finally {
    // Closing an outgoing session un-preserves what it holds.
    session.close();
  }
}
