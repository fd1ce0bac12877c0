// kexec-load and kexec-exec on the machine under test. The exec answers
// first (the orchestrator starts its blackout clock on that answer) and then
// reboots; if reboot(2) returns, a "kexec-failed" notification says why.

import { readFileSync } from 'node:fs';
import type { AgentNotifications, AgentParams, AgentResult, DmaInFlight } from '../contract/agent.js';
import { ERR, RpcError } from '../contract/rpc.js';
import { kexecExecute, kexecLoad, kexecLoaded } from '../kexec/kexec.js';
import { SysError, type Permit } from '../sys/errors.js';

export function load(p: AgentParams<'kexec-load'>, permit: Permit): AgentResult<'kexec-load'> {
  // Without a command line, the next kernel gets the running one's (with the additions).
  const base = p.cmdline ?? readFileSync('/proc/cmdline', 'utf8').trim();
  const cmdline = p.append ? `${base} ${p.append}` : base;
  kexecLoad({ kernel: p.kernel, cmdline, ...(p.initrd ? { initrd: p.initrd } : {}) }, permit);
  return { kernel: p.kernel, ...(p.initrd ? { initrd: p.initrd } : {}), cmdline };
}

/**
 * Answers (with the DMA still running), then on the next turn of the event loop, after the answer is written, runs
 * `lastMoment` and executes the kernel in the same turn: no batch of a copy can start in between, so what a copy
 * writes from then on is the device's doing alone.
 */
export function exec(
  permit: Permit,
  inFlight: DmaInFlight[],
  interruptsOff: string[],
  lastMoment: () => void,
  notify: (failure: AgentNotifications['kexec-failed']) => void,
): AgentResult<'kexec-exec'> {
  permit.allow('kexec');
  if (!kexecLoaded()) throw new RpcError(ERR.failed, 'no kernel is loaded for kexec (kexec-load first)');
  setImmediate(() => {
    try {
      lastMoment();
      kexecExecute(permit);
    } catch (e) {
      notify({
        message: (e as Error).message,
        ...(e instanceof SysError ? { call: e.call, errno: e.errno, code: e.code } : {}),
      });
    }
  });
  return { instant: Date.now(), inFlight: { dma: inFlight }, interruptsOff };
}
