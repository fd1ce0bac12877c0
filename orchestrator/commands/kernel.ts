import type { Argv, CommandModule } from 'yargs';
import { formatEta, ProgressLine } from '../progress.js';
import { treeKernel, type TreeKernel } from '../kernels/tree.js';
import { JSON_FLAG, type GlobalArgs } from '../cli-common.js';
import { exitCodeOf } from '../errors.js';

interface Args extends GlobalArgs {
  tree: string;
  json: boolean;
}

/** What a built tree offers, as people read it. */
export function treeKernelText(built: TreeKernel): string {
  const width = Math.max(0, ...built.options.map((o) => o.symbol.length));
  const options = built.options.map((o) =>
    `  CONFIG_${o.symbol.padEnd(width)}  ${o.enabled ? 'y      ' : 'not set'}  ${o.prompt ?? ''} (${o.file})`.trimEnd(),
  );
  return [
    `kernel ${built.kernel.release ?? '(release unknown)'}: ${built.kernel.image}`,
    `  run a scenario on it: lustress run SCENARIO --kernel ${built.kernel.image}`,
    built.options.length
      ? 'Live Update options the tree declares (lustress sets them to y; a dependency the tree lacks leaves one unset):'
      : 'the tree declares no Live Update options (no LIVEUPDATE in any Kconfig symbol)',
    ...options,
    `preservation handlers its LUO will offer: ${built.handlers.join(', ') || 'none'}`,
  ].join('\n');
}

const build: CommandModule<GlobalArgs, Args> = {
  command: 'build',
  describe: "Build a kernel tree of your own with lustress's config and every Live Update option the tree has",
  builder: (y) =>
    y
      .option('tree', { type: 'string', demandOption: true, describe: 'the kernel source tree (kept clean: O= build)' })
      .option('json', JSON_FLAG)
      .example(
        '$0 kernel build --tree ~/linux-luo',
        'a kernel with the posted VFIO Live Update series, for scenarios/device-live-update.yaml',
      ) as unknown as Argv<Args>,
  handler: async (args) => {
    const progress = new ProgressLine();
    const started = Date.now();
    try {
      const built = await treeKernel(args.tree, {
        log: (msg) => {
          progress.finish();
          process.stderr.write(`lustress kernel build: ${msg}\n`);
        },
        progress: (p) => {
          if (p.phase === 'compile')
            progress.update(
              `building ${args.tree}: ${p.done}/${p.total} objects ${formatEta(p.done, p.total, Date.now() - started)}`,
            );
          else progress.update(`${args.tree}: ${p.phase}`);
        },
      });
      progress.finish();
      process.stdout.write(`${args.json ? JSON.stringify(built, null, 2) : treeKernelText(built)}\n`);
    } catch (e) {
      progress.finish();
      process.stderr.write(`lustress kernel build: ${(e as Error).message}\n`);
      process.exitCode = exitCodeOf(e);
    }
  },
};

export const kernelCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'kernel',
  describe: 'Kernels of your own: build a tree the way lustress builds its live-update kernel',
  builder: (y) => y.command(build).demandCommand(1, 'Name a kernel command: build.') as unknown as Argv<GlobalArgs>,
  handler: () => {},
};
