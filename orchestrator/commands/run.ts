import type { CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkScenarioFile } from '../scenario/load.js';
import { formatProblem } from '../scenario/errors.js';
import { parseDuration } from '../scenario/units.js';
import { runScenario, SUMMARY_FILE } from '../run/run.js';
import { createRunDir, ensureDir } from '../rundir.js';
import { createLogger } from '../log.js';
import { EXIT, type GlobalArgs } from '../cli-common.js';

interface Args extends GlobalArgs {
  file: string;
  kernel?: string;
  iterations?: number;
  duration?: string;
  keepGoing: boolean;
  runDir?: string;
}

export const runCommand: CommandModule<GlobalArgs, Args> = {
  command: 'run <file>',
  describe: 'Run a scenario: KTAP on stdout, journal, logs and consoles in the run directory',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'scenario YAML file' })
      .option('kernel', { type: 'string', describe: "a kernel image (path) to boot and kexec into instead of the scenario's" })
      .option('iterations', { type: 'number', describe: "how many iterations (overrides the scenario's)" })
      .option('duration', { type: 'string', describe: 'keep iterating this long, e.g. 8h (overrides the scenario)' })
      .option('keep-going', { type: 'boolean', default: false, describe: 'run every iteration even after a failure' })
      .option('run-dir', { type: 'string', describe: 'where the run keeps its records (default: a new directory under ./runs)' })
      .example('$0 run scenarios/kexec-dma-msi.yaml', 'one live update with DMA and MSI checks on the default QEMU guest') as any,
  handler: async (args) => {
    const loaded = checkScenarioFile(args.file);
    if (!loaded.ok) {
      process.stderr.write(loaded.problems.map(formatProblem).join('\n') + '\n');
      process.exitCode = EXIT.usage;
      return;
    }
    const duration = args.duration !== undefined ? parseDuration(args.duration) : undefined;
    if (duration && !duration.ok) {
      process.stderr.write(`lustress: --duration: ${duration.message}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    if (args.iterations !== undefined && !(Number.isInteger(args.iterations) && args.iterations >= 1)) {
      process.stderr.write(`lustress: --iterations must be a whole number >= 1, got ${args.iterations}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    const scenario = loaded.scenario;
    const runDir = args.runDir ? ensureDir(args.runDir) : createRunDir(scenario.name);
    const log = createLogger({ level: args.logLevel, file: join(runDir, 'lustress.log') });
    const summary = await runScenario(scenario, {
      runDir,
      log,
      out: (text) => process.stdout.write(text),
      scenarioText: readFileSync(args.file, 'utf8'),
      keepGoing: args.keepGoing,
      agentLogLevel: args.logLevel,
      ...(args.iterations !== undefined ? { iterations: args.iterations } : {}),
      ...(duration?.ok ? { durationMs: duration.value } : {}),
      ...(args.kernel ? { kernelOverride: args.kernel } : {}),
    });
    process.stdout.write(`# ${summary.verdict}: ${summary.iterations.length} iteration(s) in ${(summary.ms / 1000).toFixed(1)} s; records in ${runDir} (${SUMMARY_FILE}, journal.jsonl)\n`);
    process.exitCode = summary.verdict === 'fail' ? EXIT.fail : EXIT.pass;
  },
};
