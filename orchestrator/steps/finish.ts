// finish: a retrieved LUO session, its resources given back to the kernel.

import { defineStep } from './define.js';

export const finish = defineStep('finish', {
  model: (a: { session: string }) => ({ session: a.session }),
  label: (s) => `finish ${s.session}`,
  check(c) {
    const name = c.args.session;
    if (!c.isName(name)) return;
    const s = c.flow.sessions.get(name);
    if (!s || s.retrievedIn !== c.flow.boot)
      c.report(['session'], `session "${name}" is not retrieved in this boot; finish follows retrieve`);
    else c.flow.sessions.delete(name);
  },
  async run(s, ctx) {
    const r = await ctx.call('finish', { session: s.session });
    ctx.state.sessions.delete(s.session);
    return { detail: r };
  },
});
