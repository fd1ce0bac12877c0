// The one gate in front of everything that can end the session of whoever
// runs the agent: kexec, driver unbinding, SR-IOV changes. They happen only
// on a machine marked disposable: a lustress QEMU guest (its kernel command
// line carries lustress.disposable, which only lustress's QEMU launcher puts
// there) or a host whose owner passed --disposable explicitly.

import { readFileSync } from 'node:fs';
import { ERR, RpcError } from './protocol.js';

export const DISPOSABLE_CMDLINE_FLAG = 'lustress.disposable';

export function machineIsDisposable(explicitFlag: boolean): boolean {
  if (explicitFlag) return true;
  let cmdline = '';
  try {
    cmdline = readFileSync('/proc/cmdline', 'utf8');
  } catch {
    return false;
  }
  return cmdline.split(/\s+/).includes(DISPOSABLE_CMDLINE_FLAG);
}

export function assertDisposable(disposable: boolean, action: string): void {
  if (!disposable) {
    throw new RpcError(
      ERR.refused,
      `refusing to ${action}: this machine is not marked disposable (it is not a lustress QEMU guest and the agent was not started with --disposable)`,
      { action },
    );
  }
}
