// The one policy in front of everything that can end the session of whoever
// runs the agent: kexec, driver unbinding, SR-IOV changes, running commands.
// They happen only on a machine marked disposable: a lustress QEMU guest (its
// kernel command line carries lustress.disposable, which only lustress's QEMU
// launcher puts there) or a host whose owner passed --disposable explicitly.
// The layers below ask this Permit before every side effect.

import { readFileSync } from 'node:fs';
import { DISPOSABLE_CMDLINE_FLAG } from '../contract/facts.js';
import { NotPermitted, type Permit } from '../sys/errors.js';

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

/** The Permit of a machine that is, or is not, disposable. */
export function permitFor(disposable: boolean): Permit {
  return {
    allow(action: string): void {
      if (!disposable) {
        throw new NotPermitted(
          action,
          'this machine is not marked disposable (it is not a lustress QEMU guest and the agent was not started with --disposable)',
        );
      }
    },
  };
}
