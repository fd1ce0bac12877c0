import type { CommandModule } from 'yargs';
import { join } from 'node:path';
import { resumeRun } from '../run/run.js';
import { ktapOf, viewRun } from '../reports/rebuild.js';
import { createLogger } from '../log.js';
import { EXIT, REPORT_OPTIONS, type GlobalArgs } from '../cli-common.js';

interface Args extends GlobalArgs {
  runDir: string;
  junit?: string;
  json?: string;
  html?: string;
}

export const resumeCommand: CommandModule<GlobalArgs, Args> = {
  command: 'resume <run-dir>',
  describe: 'Continue a run whose orchestrator was killed, after its last recorded step (the interrupted iteration is closed, not repeated)',
  builder: (y) =>
    y
      .positional('run-dir', { type: 'string', demandOption: true, describe: 'the run directory of the interrupted run' })
      .options(REPORT_OPTIONS) as any,
  handler: async (args) => {
    const log = createLogger({ level: args.logLevel, file: join(args.runDir, 'lustress.log') });
    const summary = await resumeRun({
      runDir: args.runDir,
      log,
      out: (text) => process.stdout.write(text),
      agentLogLevel: args.logLevel,
      reports: { ...(args.junit ? { junit: args.junit } : {}), ...(args.json ? { json: args.json } : {}), ...(args.html ? { html: args.html } : {}) },
    });
    if (!summary) {
      process.stdout.write(ktapOf(viewRun(args.runDir)));
      process.stdout.write(`# ${args.runDir} had already ended: nothing to resume\n`);
      return;
    }
    process.stdout.write(`# ${summary.verdict}: ${summary.iterations.length} iteration(s); records in ${args.runDir}\n`);
    process.exitCode = summary.verdict === 'fail' ? EXIT.fail : EXIT.pass;
  },
};
