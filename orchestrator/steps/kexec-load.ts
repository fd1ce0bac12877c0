// kexec-load: the next kernel (the step's, --kernel, or the target's list in turn) with kexec_file_load.

import { kernelForKexec } from '../scenario/spec.js';
import { defineStep, recorded } from './define.js';

interface KexecLoad {
  kernel?: string;
  initrd?: string;
  cmdline?: string;
}

export const kexecLoad = defineStep('kexec-load', {
  // `kexec-load:` with nothing after it is null.
  model: (a: KexecLoad | null): KexecLoad => ({
    ...(a?.kernel ? { kernel: a.kernel } : {}),
    ...(a?.initrd ? { initrd: a.initrd } : {}),
    ...(a?.cmdline ? { cmdline: a.cmdline } : {}),
  }),
  label: (s) => `kexec-load ${s.kernel ?? 'next'}`,
  needs: 'kexec',
  plannedKernels: (s, targets, kexecs) =>
    Object.fromEntries(targets.map((t) => [t.name, s.kernel ?? kernelForKexec(t, kexecs)])),
  check(c) {
    c.flow.loadedAt = c.index;
  },
  async run(s, ctx) {
    const ref = s.kernel ?? ctx.kernelOverride ?? kernelForKexec(ctx.spec, ctx.state.kexecs);
    const image = await ctx.target.kexecImage(ref, {
      ...(s.initrd ? { initrd: s.initrd } : {}),
      ...(s.cmdline ? { cmdline: s.cmdline } : {}),
    });
    return recorded(await ctx.call('kexec-load', image));
  },
});
