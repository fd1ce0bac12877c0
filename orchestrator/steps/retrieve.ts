// retrieve: after the reboot, a LUO session and the fds preserved in it, under their tokens.

import { nearest } from '../scenario/errors.js';
import { defineStep, recorded } from './define.js';

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
    }
  },
  run: async (s, ctx) =>
    recorded(await ctx.call('retrieve', { session: s.session, buffers: ctx.state.sessions.get(s.session) ?? [] })),
});
