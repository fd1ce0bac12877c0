// kexec-load and kexec-exec on the machine under test. The exec answers
// first (the orchestrator starts its blackout clock on that answer) and then
// reboots; if reboot(2) returns, a "kexec-failed" notification says why.

import { readFileSync } from 'node:fs';
import { kexecExecute, kexecLoad, kexecLoaded, type KexecRequest } from '../kexec/kexec.js';
import { SysError } from '../drivers/vfio/libc.js';
import { ERR, RpcError } from './protocol.js';
import { assertDisposable } from './safety.js';

export function load(p: KexecRequest, disposable: boolean): { kernel: string; initrd?: string; cmdline: string } {
  assertDisposable(disposable, 'load a kernel for kexec');
  if (typeof p.kernel !== 'string') throw new RpcError(ERR.invalidParams, 'kexec-load needs a kernel');
  // Without a command line, the next kernel gets the running one's (with the additions).
  const base = p.cmdline ?? readFileSync('/proc/cmdline', 'utf8').trim();
  const cmdline = p.append ? `${base} ${p.append}` : base;
  try {
    kexecLoad({ kernel: p.kernel, cmdline, ...(p.initrd ? { initrd: p.initrd } : {}) });
  } catch (e) {
    if (e instanceof SysError) throw new RpcError(ERR.failed, e.message, e.data);
    throw e;
  }
  return { kernel: p.kernel, ...(p.initrd ? { initrd: p.initrd } : {}), cmdline };
}

/** Answers (with what is still running, e.g. DMA), then on the next turn of the event loop, after the answer is written, executes the kernel. */
export function exec<T>(disposable: boolean, log: () => void, notify: (method: string, params: unknown) => void, inFlight: T): { instant: number; inFlight: T } {
  assertDisposable(disposable, 'kexec');
  if (!kexecLoaded()) throw new RpcError(ERR.failed, 'no kernel is loaded for kexec (kexec-load first)');
  setImmediate(() => {
    try {
      log();
      kexecExecute();
    } catch (e) {
      notify('kexec-failed', { message: (e as Error).message, ...(e instanceof SysError ? e.data : {}) });
    }
  });
  return { instant: Date.now(), inFlight };
}
