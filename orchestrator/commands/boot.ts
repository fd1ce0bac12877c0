import type { Argv, CommandModule } from 'yargs';
import { QEMU_MODELS, type QemuModel } from '../../contract/devices.js';
import { join } from 'node:path';
import { defaultTarget } from '../scenario/spec.js';
import { parseSize } from '../scenario/units.js';
import { QemuTarget } from '../targets/qemu/qemu.js';
import { TargetLostError } from '../targets/target.js';
import { createRunDir, ensureDir } from '../rundir.js';
import { createLogger } from '../log.js';
import { EXIT, JSON_FLAG, type GlobalArgs } from '../cli-common.js';

interface Args extends GlobalArgs {
  json: boolean;
  kernel: string;
  initrd?: string;
  devices: string[];
  memory: string;
  runDir?: string;
  timeout: number;
}

export const bootCommand: CommandModule<GlobalArgs, Args> = {
  command: 'boot',
  describe: 'Boot a QEMU guest, print what its agent reports (hello), and stop it',
  builder: (y) =>
    y
      .option('json', JSON_FLAG)
      .option('kernel', {
        type: 'string',
        default: 'live-update',
        describe: 'live-update, debian, or a path to a bzImage',
      })
      .option('initrd', { type: 'string', describe: 'an initramfs of your own instead of the one lustress builds' })
      .option('devices', {
        type: 'string',
        array: true,
        default: ['igb', 'edu'],
        choices: Object.keys(QEMU_MODELS),
        describe: 'emulated devices',
      })
      .option('memory', { type: 'string', default: '2GiB' })
      .option('run-dir', {
        type: 'string',
        describe: 'where the console log goes (default: a new directory under ./runs)',
      })
      .option('timeout', { type: 'number', default: 180, describe: 'seconds to wait for the agent' })
      .example('$0 boot --kernel debian', "check Debian's prebuilt kernel reaches the agent") as unknown as Argv<Args>,
  handler: async (args) => {
    const memory = parseSize(args.memory);
    if (!memory.ok) {
      process.stderr.write(`lustress: --memory: ${memory.message}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    const runDir = args.runDir ? ensureDir(args.runDir) : createRunDir('boot');
    const log = createLogger({ level: args.logLevel, file: join(runDir, 'lustress.log') });
    const spec = {
      ...defaultTarget([]),
      memoryBytes: memory.value,
      devices: args.devices.map((model) => ({ model: model as QemuModel, count: 1, vfs: 0 })),
      ...(args.initrd ? { initrd: args.initrd } : {}),
    };
    const target = new QemuTarget({
      spec,
      runDir,
      log,
      kernelOverride: args.kernel,
      hardTimeoutMs: (args.timeout + 60) * 1000,
    });
    const started = Date.now();
    try {
      const hello = await target.start(args.timeout * 1000);
      const ms = Date.now() - started;
      const facts = await target.rpc.request('facts', {}, args.timeout * 1000);
      if (args.json) process.stdout.write(JSON.stringify({ ms, runDir, hello, facts }, null, 2) + '\n');
      else {
        process.stdout.write(`booted ${hello.release} in ${(ms / 1000).toFixed(1)} s (boot ${hello.bootId})\n`);
        process.stdout.write(
          `  /dev/vfio/vfio ${hello.dev.vfioContainer ? 'yes' : 'no'}, /dev/iommu ${hello.dev.iommufd ? 'yes' : 'no'}, /dev/liveupdate ${hello.dev.liveupdate ? 'yes' : 'no'}\n`,
        );
        for (const f of facts.pci)
          process.stdout.write(
            `  ${f.bdf} ${f.vendor}:${f.device} group ${f.iommuGroup ?? '-'} driver ${f.driver ?? '-'}\n`,
          );
        process.stdout.write(`console: ${join(runDir, 'console-default.log')}\n`);
      }
    } catch (e) {
      if (!(e instanceof TargetLostError)) throw e;
      process.stdout.write(`boot failed: ${e.message}\n${e.excerpt.map((l) => `  | ${l}`).join('\n')}\n`);
      process.exitCode = EXIT.fail;
    } finally {
      await target.stop();
    }
  },
};
