// The LUO steps: preserve buffers (and devices, where the kernel can) in a
// session before the exec; retrieve them after it, checking each rule the
// uAPI sets for a preserved device; finish. A file kind the kernel has no
// handler for makes the step a SKIP "not supported by this kernel", never a
// pass.

import type { AgentMethods, AgentParams, AgentResult, DeviceRetrieval, Refusal } from '../contract/agent.js';
import { ERR, RpcError, type Handlers } from '../contract/rpc.js';
import { DmaBuffer } from '../drivers/vfio/dma-buffer.js';
import { UNSUPPORTED_ERRNOS, type LuoSession } from '../kexec/luo.js';
import { SysError, type Permit } from '../sys/errors.js';
import { close, open, O_RDWR } from '../sys/libc.js';
import { vfioCdevOf } from '../sys/sysfs.js';
import { adoptRetrieved } from './devices.js';
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
      return retrieve(state, p, permit);
    },
    finish: (p) => {
      permit.allow(`finish LUO session ${p.session}`);
      return finish(state, p);
    },
  };
}

/** Preserves one file; undefined when done, the errno when the kernel has no handler for it. */
function refusedErrno(session: LuoSession, fd: number, token: bigint): string | undefined {
  try {
    session.preserve(fd, token);
    return undefined;
  } catch (e) {
    if (e instanceof SysError && UNSUPPORTED_ERRNOS.has(e.code)) return e.code;
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
    const handler = b.backing === 'hugetlb' ? 'memfd-hugetlb' : 'memfd';
    const errno = refusedErrno(session, state.buffer(b).fd, token);
    if (errno) unsupported.push({ owner: b.name, what: `${b.backing} buffer ${b.name}`, handler, errno });
    else tokens[b.name] = String(token);
    token++;
  }
  const devices: AgentResult<'preserve'>['devices'] = {};
  for (const name of p.devices) {
    const device = state.devices.get(name);
    if (!device) throw new RpcError(ERR.failed, `device ${name} is not bound in this boot`);
    for (const f of device.preservableFds()) {
      const errno = refusedErrno(session, f.fd, token);
      if (errno) unsupported.push({ owner: name, what: `${f.kind} fd of ${name}`, handler: f.kind, errno });
      else if (f.kind === 'vfio-device') {
        const iovas = Object.fromEntries([...device.iovas].map(([b, iova]) => [b, String(iova)]));
        devices[name] = { bdf: device.bdf, token: String(token), iovas };
        state.preservedDevices.add(name);
      }
      token++;
    }
  }
  return { tokens, devices, unsupported };
}

/** An errno where the call was refused, `success` where it went through. */
function refusal(call: () => void, success: string): string {
  try {
    call();
    return success;
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
}

async function retrieve(
  state: AgentState,
  p: AgentParams<'retrieve'>,
  permit: Permit,
): Promise<AgentResult<'retrieve'>> {
  const session = state.withLiveUpdate((lu) => lu.retrieveSession(p.session));
  state.sessions.set(p.session, session);
  for (const b of p.buffers) {
    const fd = session.retrieve(BigInt(b.token));
    state.buffers.get(b.name)?.close();
    // Mapped whole at once: a verify right after would otherwise fault the retrieved memory in a page at a time.
    state.buffers.set(b.name, DmaBuffer.fromFd(fd, b.sizeBytes, { populate: true }));
  }
  const devices: DeviceRetrieval[] = [];
  if (p.devices.length) {
    // The series' order: FINISH must be refused while a device is still in the session, and the device's cdev be
    // busy until RETRIEVE_FD hands it back.
    const finishBefore = refusal(() => session.finish(), 'accepted');
    for (const d of p.devices) {
      const cdev = vfioCdevOf(d.bdf);
      const cdevBefore = cdev ? refusal(() => close(open(cdev, O_RDWR, { bdf: d.bdf })), 'opened') : 'no cdev';
      const fd = session.retrieve(BigInt(d.token));
      devices.push(await adoptRetrieved(state, permit, d, fd, { finishBefore, cdevBefore }));
    }
  }
  return { buffers: p.buffers.map((b) => b.name), devices };
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
    for (const c of candidates) verdicts[c.kind] = refusedErrno(session, c.fd, token++) ?? 'ok';
    return verdicts;
  } finally {
    // Closing an outgoing session un-preserves what it holds.
    session.close();
  }
}
