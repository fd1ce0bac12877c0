import type { Argv, CommandModule } from 'yargs';
import { checkPrerequisites, setup } from '../setup.js';
import { CACHED_KERNELS } from '../kernels/kernels.js';
import { formatEta, ProgressLine } from '../progress.js';
import { EXIT, JSON_FLAG, type GlobalArgs } from '../cli-common.js';

interface Args extends GlobalArgs {
  json: boolean;
  check: boolean;
  kernels: string[];
  forTests: boolean;
}

export const setupCommand: CommandModule<GlobalArgs, Args> = {
  command: 'setup',
  describe:
    'Install what the QEMU target needs (QEMU >= 8, busybox, e2fsprogs, kernel build tools) and fetch/build the kernels',
  builder: (y) =>
    y
      .option('json', JSON_FLAG)
      .option('check', {
        type: 'boolean',
        default: false,
        describe: 'only report each prerequisite; exit 1 if any is missing',
      })
      .option('for-tests', {
        type: 'boolean',
        default: false,
        describe: 'also what the test suite needs (Chromium, OpenSSH, the Linux 7.3 selftest tree)',
      })
      .option('kernels', {
        type: 'string',
        array: true,
        choices: [...CACHED_KERNELS],
        default: [...CACHED_KERNELS],
        describe: 'kernels to fetch or build',
      })
      .example('$0 setup', 'install and build everything (idempotent)')
      .example('$0 setup --check', 'what is present, what is missing') as unknown as Argv<Args>,
  handler: async (args) => {
    if (args.check) {
      const status = await checkPrerequisites(args.forTests);
      if (args.json) process.stdout.write(JSON.stringify(status, null, 2) + '\n');
      else for (const s of status) process.stdout.write(`${s.ok ? 'present' : 'MISSING'}  ${s.name}: ${s.detail}\n`);
      process.exitCode = status.every((s) => s.ok) ? EXIT.pass : EXIT.fail;
      return;
    }
    const progress = new ProgressLine();
    const started = Date.now();
    const result = await setup({
      kernels: args.kernels,
      forTests: args.forTests,
      log: (msg) => {
        progress.finish();
        process.stderr.write(`lustress setup: ${msg}\n`);
      },
      progress: (p) => {
        if (p.phase === 'compile')
          progress.update(
            `building the live-update kernel: ${p.done}/${p.total} objects ${formatEta(p.done, p.total, Date.now() - started)}`,
          );
        else if (p.phase === 'done') progress.finish('live-update kernel built');
        else progress.update(`live-update kernel: ${p.phase}`);
      },
    });
    progress.finish();
    if (result.commands.length) {
      process.stderr.write(
        `lustress setup: not root; run these, then lustress setup again:\n${result.commands.join('\n')}\n`,
      );
      process.exitCode = EXIT.fail;
      return;
    }
    const status = await checkPrerequisites(args.forTests);
    for (const s of status) process.stdout.write(`${s.ok ? 'present' : 'MISSING'}  ${s.name}: ${s.detail}\n`);
    process.exitCode = status.every((s) => s.ok) ? EXIT.pass : EXIT.fail;
  },
};
