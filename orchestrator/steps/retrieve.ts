// retrieve: after the reboot, a LUO session and the fds preserved in it,
// under their tokens. A session that holds devices is taken back the way the
// posted VFIO series says, and every rule of its uAPI is judged here: FINISH
// refused while a device is still in the session, the device's cdev busy,
// RETRIEVE_FD giving a working device fd that binds to a new iommufd, the
// buffers mapped again at their IOVAs. The verdict names what the kernel
// did with the device at the reboot (froze it, or let its DMA go on).

import type { DeviceRetrieval, DmaInFlight } from '../../contract/agent.js';
import { nearest } from '../scenario/errors.js';
import { deviceParam } from './bind.js';
import { defineStep, type StepResult } from './define.js';

/** What one retrieved device says about the kernel: the rules it broke, and what it did at the reboot. */
export function judgeRetrieval(
  r: DeviceRetrieval,
  inFlight: DmaInFlight | undefined,
): { problems: string[]; did: string } {
  const problems: string[] = [];
  if (r.finishBefore === 'accepted')
    problems.push(
      `LIVEUPDATE_SESSION_FINISH succeeded while device ${r.device} was still in the session; the uAPI refuses it until every device is retrieved`,
    );
  if (r.cdevBefore === 'opened')
    problems.push(`opening ${r.device}'s cdev before RETRIEVE_FD succeeded; the uAPI says EBUSY until it is retrieved`);
  else if (r.cdevBefore !== 'EBUSY')
    problems.push(
      `opening ${r.device}'s cdev before RETRIEVE_FD gave ${r.cdevBefore}, not EBUSY${r.cdevBefore === 'no cdev' ? ' (it has no /dev/vfio/devices node after the reboot)' : ''}`,
    );
  if (!r.file.startsWith('anon_inode:'))
    problems.push(
      `RETRIEVE_FD for ${r.device} gave ${r.file}, not the anonymous-inode VFIO device file the series returns`,
    );
  const copied = inFlight ? ` (it had moved ${inFlight.bytesDone} bytes)` : '';
  const did = r.busMaster
    ? `${r.device} (${r.bdf}) kept bus mastering through the reboot: the kernel preserved its DMA path (iommufd preservation)${inFlight ? `; the copy in flight at the exec${copied} was not stopped by the kernel` : ''}`
    : `${r.device} (${r.bdf}) was frozen and reset at the reboot (VFIO phase 1): bus mastering off${inFlight ? `; the copy in flight at the exec${copied} was dropped, as the design says` : ''}`;
  return { problems, did };
}

/** The retrieve's verdict over every device: a failing rule fails it; a device the kernel did not take SKIPs it. */
export function retrieveVerdict(
  retrieved: DeviceRetrieval[],
  refused: Map<string, string>,
  inFlight: DmaInFlight[],
  detail: object,
): StepResult {
  const judged = retrieved.map((r) =>
    judgeRetrieval(
      r,
      inFlight.find((f) => f.device === r.device),
    ),
  );
  const problems = judged.flatMap((j) => j.problems);
  const did = judged.map((j) => j.did);
  const full = { ...detail, ...(did.length ? { kernelDid: did } : {}) };
  if (problems.length) return { detail: full, fail: problems.join('; ') };
  if (refused.size)
    return {
      detail: full,
      skip: `the buffers came back; not preserved by this kernel, so not retrieved: ${[...refused].map(([d, why]) => `device ${d}: ${why}`).join('; ')}`,
    };
  return { detail: full };
}

export const retrieve = defineStep('retrieve', {
  model: (a: { session: string }) => ({ session: a.session }),
  label: (s) => `retrieve ${s.session}`,
  check(c) {
    const name = c.args.session;
    if (!c.isName(name)) return;
    const s = c.flow.sessions.get(name);
    if (!s) {
      const guess = nearest(name, c.flow.sessions.keys());
      c.report(
        ['session'],
        `no preserve step creates session "${name}" before this one${guess ? `; did you mean "${guess}"?` : ''}`,
      );
    } else if (s.boot === c.flow.boot)
      c.report(['session'], `session "${name}" was preserved in this same boot; retrieve comes after a kexec-exec`);
    else {
      s.retrievedIn = c.flow.boot;
      for (const b of s.buffers) c.flow.liveBuffers.add(b);
      // Its devices come back bound, their pinned buffers mapped again.
      for (const d of s.devices) {
        c.flow.bound.set(d, c.index);
        const pinned = s.pinned.get(d) ?? new Set<string>();
        c.flow.mapped.set(d, new Set(pinned));
        c.flow.pinned.set(d, new Set(pinned));
      }
    }
  },
  async run(s, ctx) {
    const session = ctx.state.sessions.get(s.session);
    const devices = (session?.devices ?? []).map(({ name, ...d }) => ({
      ...d,
      device: deviceParam(ctx.state.device(name), ctx.spec),
    }));
    const r = await ctx.call('retrieve', { session: s.session, buffers: session?.buffers ?? [], devices });
    const refused = session?.refused ?? new Map<string, string>();
    for (const [d, why] of refused) ctx.state.absent.set(d, `device ${d} did not come through the live update: ${why}`);
    return retrieveVerdict(r.devices, refused, ctx.state.inFlightAtExec, r);
  },
});
