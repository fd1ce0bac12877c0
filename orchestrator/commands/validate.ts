import type { Argv, CommandModule } from 'yargs';
import { checkScenarioFile } from '../scenario/load.js';
import { formatProblem } from '../scenario/errors.js';
import { EXIT, JSON_FLAG, type GlobalArgs } from '../cli-common.js';

interface Args extends GlobalArgs {
  json: boolean;
  files: string[];
}

export const validateCommand: CommandModule<GlobalArgs, Args> = {
  command: 'validate <files..>',
  describe: 'Check scenario files; every problem is reported as file:line:col',
  builder: (y) =>
    y
      .option('json', JSON_FLAG)
      .positional('files', { type: 'string', array: true, demandOption: true, describe: 'scenario YAML files' })
      .example('$0 validate scenarios/*.yaml', 'check every example scenario') as unknown as Argv<Args>,
  handler: (args) => {
    const results = args.files.map((file) => ({ file, result: checkScenarioFile(file) }));
    if (args.json) {
      const out = results.map(({ file, result }) => ({
        file,
        ok: result.ok,
        problems: result.ok ? [] : result.problems,
      }));
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    } else {
      for (const { file, result } of results) {
        if (result.ok) process.stdout.write(`${file}: ok\n`);
        else process.stdout.write(result.problems.map(formatProblem).join('\n') + '\n');
      }
    }
    process.exitCode = results.every((r) => r.result.ok) ? EXIT.pass : EXIT.fail;
  },
};
