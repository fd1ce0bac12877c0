import type { Argv, CommandModule } from 'yargs';
import { viewRun, writeKtap, writeReports } from '../reports/rebuild.js';
import { REPORT_OPTIONS, reportFiles, type GlobalArgs, type ReportArgs } from '../cli-common.js';

interface Args extends GlobalArgs, ReportArgs {
  runDir: string;
}

export const reportCommand: CommandModule<GlobalArgs, Args> = {
  command: 'report <run-dir>',
  describe: "Rebuild a run's reports from its journal: KTAP on stdout, JUnit, JSON, HTML and KCIDB files on request",
  builder: (y) =>
    y
      .positional('run-dir', {
        type: 'string',
        demandOption: true,
        describe: 'a run directory (it holds journal.jsonl)',
      })
      .options(REPORT_OPTIONS)
      .example(
        '$0 report runs/soak-20261121-2200 --html soak.html',
        "the timeline of last night's soak",
      ) as unknown as Argv<Args>,
  handler: (args) => {
    const view = viewRun(args.runDir);
    writeKtap(view, (text) => process.stdout.write(text));
    writeReports(view, reportFiles(args));
  },
};
