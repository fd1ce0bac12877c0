import type { Argv, CommandModule } from 'yargs';
import { join } from 'node:path';
import { assertRunDir } from '../run/journal.js';
import { resumeRun } from '../run/run.js';
import { viewRun, writeKtap } from '../reports/rebuild.js';
import { createLogger } from '../log.js';
import { writeAbove } from '../progress.js';
import { runProgress } from '../reports/progress.js';
import { EXIT, REPORT_OPTIONS, reportFiles, type GlobalArgs, type ReportArgs } from '../cli-common.js';

interface Args extends GlobalArgs, ReportArgs {
  runDir: string;
}

export const resumeCommand: CommandModule<GlobalArgs, Args> = {
  command: 'resume <run-dir>',
  describe:
    'Continue a run whose orchestrator was killed, after its last recorded step (the interrupted iteration is closed, not repeated)',
  builder: (y) =>
    y
      .positional('run-dir', {
        type: 'string',
        demandOption: true,
        describe: 'the run directory of the interrupted run',
      })
      .options(REPORT_OPTIONS) as unknown as Argv<Args>,
  handler: async (args) => {
    assertRunDir(args.runDir);
    const log = createLogger({ level: args.logLevel, file: join(args.runDir, 'lustress.log') });
    const progress = runProgress();
    const summary = await resumeRun({
      runDir: args.runDir,
      log,
      out: (text) => writeAbove(process.stdout, text),
      hooks: progress.hooks,
      agentLogLevel: args.logLevel,
      reports: reportFiles(args),
    });
    progress.finish();
    if (!summary) {
      writeKtap(viewRun(args.runDir), (text) => process.stdout.write(text));
      process.stdout.write(`# ${args.runDir} had already ended: nothing to resume\n`);
      return;
    }
    process.stdout.write(
      `# ${summary.verdict}: ${summary.iterations.length} iteration(s); records in ${args.runDir}\n`,
    );
    process.exitCode = summary.verdict === 'fail' ? EXIT.fail : EXIT.pass;
  },
};
