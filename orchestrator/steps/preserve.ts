// preserve: a LUO session holding the buffers' memfds (and the devices' fds
// where the kernel can); what the kernel has no handler for makes it a SKIP.

import { defineStep } from './define.js';

export const preserve = defineStep('preserve', {
  model: (a: { session: string; buffers?: string[]; devices?: string[] }) => ({
    session: a.session,
    buffers: a.buffers ?? [],
    devices: a.devices ?? [],
  }),
  label: (s) => `preserve ${s.session} [${[...s.buffers, ...s.devices].join(',')}]`,
  devices: (s) => s.devices,
  needs: 'liveupdate',
  check(c) {
    if (c.reboot !== 'liveupdate')
      c.report([], 'preserve needs "reboot: liveupdate"; this scenario does a plain kexec', 'key');
    const buffers = c.bufferList('buffers');
    const devices = Array.isArray(c.args.devices) ? c.args.devices : [];
    devices.forEach((d: unknown, j: number) => c.mustExist('device', d, ['devices', j]));
    if (c.isName(c.args.session)) {
      const s = c.flow.sessions.get(c.args.session);
      if (s && s.boot === c.flow.boot)
        c.report(['session'], `session "${c.args.session}" is already preserved in this boot`);
      c.flow.sessions.set(c.args.session, {
        boot: c.flow.boot,
        buffers,
        devices: devices.filter((d: unknown) => c.isName(d)),
      });
    }
    // Only when both are left out: a bad list has its own message.
    if (
      typeof c.raw === 'object' &&
      c.raw !== null &&
      !Array.isArray(c.raw) &&
      c.args.buffers === undefined &&
      c.args.devices === undefined
    ) {
      c.report([], 'preserves nothing: give "buffers" or "devices"', 'key');
    }
  },
  async run(s, ctx) {
    const r = await ctx.call('preserve', {
      session: s.session,
      buffers: s.buffers.map((b) => ctx.state.bufferParam(b)),
      devices: s.devices,
    });
    // What was preserved is retrieved later even when something else was refused.
    const kept = s.buffers.filter((b) => r.tokens[b] !== undefined);
    ctx.state.sessions.set(
      s.session,
      kept.map((b) => ({ ...ctx.state.bufferParam(b), token: r.tokens[b]! })),
    );
    if (!r.unsupported.length) return { detail: r };
    return {
      detail: r,
      skip: `not supported by this kernel: ${r.unsupported.map((u) => `${u.what} (${u.errno})`).join(', ')}`,
    };
  },
});
