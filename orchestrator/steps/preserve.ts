// preserve: a LUO session holding the buffers' memfds (and the devices' fds
// where the kernel can); what the kernel has no handler for makes it a SKIP.

import type { Refusal } from '../../contract/agent.js';
import { defineStep } from './define.js';

/** A refusal as a user reads it: which file, which handler the kernel lacks, its errno. */
export function refusalText(u: Refusal): string {
  return `${u.what} (this kernel has no LUO handler for ${u.handler} files: ${u.errno})`;
}

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
    devices.forEach((d: unknown, j: number) => {
      if (!c.mustExist('device', d, ['devices', j])) return;
      // Only a VFIO cdev bound to an iommufd can be preserved (the series refuses group fds).
      const iommu = c.deviceIommu(d);
      if (iommu.mode !== 'iommufd')
        c.report(
          ['devices', j],
          `device "${d}" uses iommu: ${String(iommu.mode)} (at ${iommu.path.join('.')}); only a VFIO cdev bound to an iommufd can be preserved: give it iommu: iommufd`,
        );
      const loose = [...(c.flow.mapped.get(d) ?? [])].filter((b) => !c.flow.pinned.get(d)?.has(b));
      if (loose.length)
        c.report(
          ['devices', j],
          `device "${d}" has buffer(s) ${loose.join(', ')} mapped at IOVAs the allocator picked; a preserved device's mappings are rebuilt at the same addresses after the reboot: pin them with the map step's "iova"`,
        );
    });
    if (c.isName(c.args.session)) {
      const s = c.flow.sessions.get(c.args.session);
      if (s && s.boot === c.flow.boot)
        c.report(['session'], `session "${c.args.session}" is already preserved in this boot`);
      const named = devices.filter((d: unknown): d is string => c.isName(d));
      c.flow.sessions.set(c.args.session, {
        boot: c.flow.boot,
        buffers,
        devices: named,
        pinned: new Map(named.map((d) => [d, new Set(c.flow.pinned.get(d))])),
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
    const refusals = (d: string) => r.unsupported.filter((u) => u.owner === d);
    ctx.state.sessions.set(s.session, {
      buffers: kept.map((b) => ({ ...ctx.state.bufferParam(b), token: r.tokens[b]! })),
      devices: Object.entries(r.devices).map(([name, d]) => ({ name, ...d })),
      refused: new Map(
        s.devices.filter((d) => !r.devices[d]).map((d) => [d, refusals(d).map(refusalText).join(', ') || 'not taken']),
      ),
    });
    if (!r.unsupported.length) return { detail: r };
    return {
      detail: r,
      skip: `not supported by this kernel: ${r.unsupported.map(refusalText).join(', ')}`,
    };
  },
});
