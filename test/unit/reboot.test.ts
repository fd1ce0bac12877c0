// Following a machine through a kexec (orchestrator/run/reboot.ts): which
// instant the blackout is measured from, and every way the race can end.

import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentNotifications, AgentResult, Hello } from '../../contract/agent.js';
import { ERR, RpcError } from '../../contract/rpc.js';
import { blackoutBreakdown, followReboot, type RebootLink } from '../../orchestrator/run/reboot.js';
import { TargetLostError } from '../../orchestrator/targets/target.js';

const hello = (bootId: string) => ({ bootId, release: '7.2' }) as Hello;
const answer: AgentResult<'kexec-exec'> = {
  interruptsOff: [],
  instant: 0,
  inFlight: { dma: [{ device: 'nic', bytesDone: 4096, batches: 2 }] },
};

/** A link whose exec answer and next hello arrive (or fail) after the given delays. */
function link(o: {
  ackAfter?: number;
  ack?: () => Promise<AgentResult<'kexec-exec'>>;
  helloAfter?: number;
  failAfter?: number;
}): RebootLink & { listening: () => number } {
  const listeners = new Set<(f: AgentNotifications['kexec-failed']) => void>();
  return {
    execute: () => o.ack?.() ?? sleep(o.ackAfter ?? 0).then(() => answer),
    onKexecFailed(fn) {
      listeners.add(fn);
      if (o.failAfter !== undefined) void sleep(o.failAfter).then(() => fn({ message: 'reboot(2) returned: EINVAL' }));
      return () => listeners.delete(fn);
    },
    waitForHello: (deadlineMs, previous) =>
      o.helloAfter === undefined
        ? sleep(deadlineMs).then(() =>
            Promise.reject(
              new TargetLostError(
                'vm',
                'deadline',
                `no hello from a new boot within ${deadlineMs} ms (was ${previous})`,
              ),
            ),
          )
        : sleep(o.helloAfter).then(() => hello('new')),
    listening: () => listeners.size,
  };
}

t.test('the blackout runs from the answer to the new hello, with the DMA in flight', async (t) => {
  const l = link({ ackAfter: 20, helloAfter: 120 });
  const r = await followReboot(l, 'old', 5000);
  t.equal(r.hello.bootId, 'new');
  t.same(r.dmaInFlight, answer.inFlight.dma);
  t.ok(r.blackoutMs >= 80 && r.blackoutMs < 115, `measured from the answer (${r.blackoutMs} ms), not from the request`);
  t.equal(l.listening(), 0, 'the kexec-failed listener is gone');
});

t.test('when the reboot beats the answer, the blackout is measured from the request and says so', async (t) => {
  const r = await followReboot(link({ ack: () => new Promise(() => {}), helloAfter: 60 }), 'old', 5000);
  t.equal(r.dmaInFlight, undefined, 'no answer, so no DMA figures');
  t.ok(r.blackoutMs >= 55, `from the request: ${r.blackoutMs} ms`);
});

t.test('an answer cut off by the reboot (abandoned, or past its deadline) is not an error', async (t) => {
  const lostAnswer = () => Promise.reject(new RpcError(ERR.failed, 'kexec-exec: the machine rebooted', { lost: true }));
  t.equal((await followReboot(link({ ack: lostAnswer, helloAfter: 30 }), 'old', 5000)).hello.bootId, 'new');
  const late = () => Promise.reject(new RpcError(ERR.deadline, 'kexec-exec: no answer'));
  t.equal((await followReboot(link({ ack: late, helloAfter: 30 }), 'old', 5000)).hello.bootId, 'new');
});

t.test(
  'a refusal, a kexec-failed notification, a lost target and a silent new boot all end it with their reason',
  async (t) => {
    const refused = () =>
      Promise.reject(new RpcError(ERR.refused, 'refusing to kexec: this machine is not marked disposable'));
    await t.rejects(followReboot(link({ ack: refused, helloAfter: 1000 }), 'old', 5000), {
      code: ERR.refused,
      message: /not marked disposable/,
    });
    await t.rejects(followReboot(link({ ack: () => new Promise(() => {}), failAfter: 20 }), 'old', 5000), {
      code: ERR.failed,
      message: 'reboot(2) returned: EINVAL',
    });
    const lost = () => Promise.reject(new TargetLostError('vm', 'panic', 'kernel panic: Kernel panic - not syncing'));
    await t.rejects(followReboot(link({ ack: lost, helloAfter: 1000 }), 'old', 5000), {
      name: 'TargetLostError',
      message: /kernel panic/,
    });
    const l = link({ ackAfter: 5 });
    await t.rejects(followReboot(l, 'old', 100), {
      reason: 'deadline',
      message: /no hello from a new boot within 100 ms \(was old\)/,
    });
    t.equal(l.listening(), 0, 'nothing is left listening after a failure');
  },
);

t.test(
  'the blackout taken apart: the kernel part (exec to init) and user space, from the new boot clock',
  async (t) => {
    // Hello at uptime 6 s; init started at 1.2 s, the agent at 2 s; the orchestrator saw 8.5 s of blackout.
    const b = blackoutBreakdown(8500, { uptimeMs: 6000, startup: { initMs: 1200, agentMs: 2000 } });
    t.same(b, { kernelMs: 3700, shutdownMs: 2500, bootMs: 1200, initMs: 800, agentMs: 4000 });
    t.equal(b!.kernelMs + b!.initMs + b!.agentMs, 8500, 'the parts add up to the whole');
    t.equal(blackoutBreakdown(8500, { uptimeMs: 6000 }), undefined, 'no startup times: no breakdown');
    t.equal(
      blackoutBreakdown(5000, { uptimeMs: 6000, startup: { initMs: 1200, agentMs: 2000 } }),
      undefined,
      'an uptime longer than the blackout is not this reboot (an ssh host that did not reboot, a wrong clock)',
    );
    t.equal(blackoutBreakdown(8500, { uptimeMs: 6000, startup: { initMs: 3000, agentMs: 2000 } }), undefined);
  },
);

t.test('followReboot hands the breakdown on when the new boot says when it started', async (t) => {
  const l = link({ helloAfter: 40 });
  const started = { ...hello('new'), uptimeMs: 10, startup: { initMs: 2, agentMs: 5 } };
  const r = await followReboot({ ...l, waitForHello: () => sleep(40).then(() => started) }, 'old', 5000);
  t.ok(r.breakdown, 'a breakdown');
  t.equal(r.breakdown!.bootMs, 2);
  t.equal(r.breakdown!.agentMs, 5);
  t.equal(r.breakdown!.kernelMs + r.breakdown!.initMs + r.breakdown!.agentMs, r.blackoutMs);
});
