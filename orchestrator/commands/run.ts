import type { Argv, CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkScenarioFile } from '../scenario/load.js';
import { formatProblem } from '../scenario/errors.js';
import { parseRunDuration } from '../scenario/units.js';
import { runScenario, SUMMARY_FILE } from '../run/run.js';
import { createRunDir, ensureDir } from '../rundir.js';
import { createLogger } from '../log.js';
import { EXIT, REPORT_OPTIONS, reportFiles, type GlobalArgs, type ReportArgs } from '../cli-common.js';
import { runProgress } from '../reports/progress.js';
import { writeAbove } from '../progress.js';
import { userKernel } from '../kernels/kernels.js';
import { featureReport } from '../kernels/kconfig.js';
import { scenarioNeeds } from '../scenario/needs.js';
import type { Scenario } from '../scenario/model.js';
import { bisectExitCode, BISECT_EXIT } from '../bisect.js';
import { baselineOf, judgeRun } from '../history/baseline.js';
import { COMPARE_OPTIONS, compareOptions, type CompareArgs } from './compare.js';

/** What a kernel the user brings cannot run of this scenario, said before the run starts. */
async function warnAboutKernel(path: string, scenario: Scenario): Promise<void> {
  const say = (text: string) => process.stderr.write(`lustress: ${text}\n`);
  let kernel;
  try {
    kernel = await userKernel(path);
  } catch (e) {
    say((e as Error).message);
    return;
  }
  if (!kernel.config) {
    say(
      `cannot read ${path}'s configuration (no IKCONFIG in it, no config file beside it): lustress cannot say what it lacks`,
    );
    return;
  }
  const verdicts = new Map(featureReport(kernel.config, false).map((f) => [f.feature, f]));
  for (const [feature, why] of scenarioNeeds(scenario)) {
    const v = verdicts.get(feature)!;
    if (!v.ok)
      say(
        `${path} cannot do ${v.what}, which this scenario needs (${why}): ${v.missing.join(', ')} (config from ${kernel.configSource})`,
      );
  }
}

const round = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(3));

interface Args extends GlobalArgs, ReportArgs, CompareArgs {
  file: string;
  kernel?: string;
  initrd?: string;
  iterations?: number;
  duration?: string;
  keepGoing: boolean;
  runDir?: string;
  seed?: number;
  bisect: boolean;
  baseline?: string;
}

export const runCommand: CommandModule<GlobalArgs, Args> = {
  command: 'run <file>',
  describe: 'Run a scenario: KTAP on stdout, journal, logs and consoles in the run directory',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'scenario YAML file' })
      .option('kernel', {
        type: 'string',
        describe: "a kernel image (path) to boot and kexec into instead of the scenario's",
      })
      .option('initrd', {
        type: 'string',
        describe: 'an initramfs of your own for QEMU targets (it must start lustress agent; see lustress boot)',
      })
      .option('iterations', { type: 'number', describe: "how many iterations (overrides the scenario's)" })
      .option('duration', { type: 'string', describe: 'keep iterating this long, e.g. 8h (overrides the scenario)' })
      .option('keep-going', { type: 'boolean', default: false, describe: 'run every iteration even after a failure' })
      .option('run-dir', {
        type: 'string',
        describe: 'where the run keeps its records (default: a new directory under ./runs)',
      })
      .options(REPORT_OPTIONS)
      .option('bisect', {
        type: 'boolean',
        default: false,
        describe:
          'exit as git bisect run expects: 0 good, 1 bad, 125 the kernel did not boot, 128 usage error (aborts the bisect)',
      })
      .option('baseline', {
        type: 'string',
        describe: 'when the run ends, compare it with these runs (as lustress compare); a regression exits 1',
      })
      .options(COMPARE_OPTIONS)
      .option('seed', {
        type: 'number',
        describe: "seed of the jitter before each kexec (the report's first lines print the one used)",
      })
      .example(
        '$0 run scenarios/kexec-dma-msi.yaml',
        'one live update with DMA and MSI checks on the default QEMU guest',
      ) as unknown as Argv<Args>,
  handler: async (args) => {
    const usage = args.bisect ? BISECT_EXIT.abort : EXIT.usage;
    const loaded = checkScenarioFile(args.file);
    if (!loaded.ok) {
      process.stderr.write(loaded.problems.map(formatProblem).join('\n') + '\n');
      process.exitCode = usage;
      return;
    }
    const duration = args.duration !== undefined ? parseRunDuration(args.duration) : undefined;
    if (duration && !duration.ok) {
      process.stderr.write(`lustress: --duration: ${duration.message}\n`);
      process.exitCode = usage;
      return;
    }
    if (args.seed !== undefined && !(Number.isInteger(args.seed) && args.seed >= 0 && args.seed < 2 ** 32)) {
      process.stderr.write(`lustress: --seed must be a whole number from 0 to 4294967295, got ${args.seed}\n`);
      process.exitCode = usage;
      return;
    }
    if (args.iterations !== undefined && !(Number.isInteger(args.iterations) && args.iterations >= 1)) {
      process.stderr.write(`lustress: --iterations must be a whole number >= 1, got ${args.iterations}\n`);
      process.exitCode = usage;
      return;
    }
    const scenario = args.initrd
      ? {
          ...loaded.scenario,
          targets: loaded.scenario.targets.map((t) => (t.kind === 'qemu' ? { ...t, initrd: args.initrd! } : t)),
        }
      : loaded.scenario;
    const baseline = args.baseline ? baselineOf(args.baseline, compareOptions(args)) : undefined;
    if (args.kernel) await warnAboutKernel(args.kernel, scenario);
    const runDir = args.runDir ? ensureDir(args.runDir) : createRunDir(scenario.name);
    const log = createLogger({ level: args.logLevel, file: join(runDir, 'lustress.log') });
    const progress = runProgress();
    const summary = await runScenario(scenario, {
      hooks: progress.hooks,
      runDir,
      log,
      out: (text) => writeAbove(process.stdout, text),
      scenarioText: readFileSync(args.file, 'utf8'),
      keepGoing: args.keepGoing,
      agentLogLevel: args.logLevel,
      ...(args.iterations !== undefined ? { iterations: args.iterations } : {}),
      ...(duration?.ok ? { durationMs: duration.value } : {}),
      ...(args.kernel ? { kernelOverride: args.kernel } : {}),
      ...(args.seed !== undefined ? { seed: args.seed } : {}),
      reports: reportFiles(args),
    });
    progress.finish();
    for (const t of summary.targets) {
      for (const [metric, d] of Object.entries(t.metrics)) {
        process.stdout.write(
          `# ${t.target} ${metric}: p50 ${round(d.p50)} p95 ${round(d.p95)} max ${round(d.max)} (n=${d.n})\n`,
        );
      }
    }
    process.stdout.write(
      `# ${summary.verdict}: ${summary.iterations.length} iteration(s) in ${(summary.ms / 1000).toFixed(1)} s; records in ${runDir} (${SUMMARY_FILE}, journal.jsonl)\n`,
    );
    process.exitCode = args.bisect ? bisectExitCode(summary) : summary.verdict === 'fail' ? EXIT.fail : EXIT.pass;
    if (baseline && judgeRun(runDir, baseline, (text) => process.stdout.write(text)) && process.exitCode === EXIT.pass)
      process.exitCode = EXIT.fail;
  },
};
