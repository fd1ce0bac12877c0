import type { Argv, CommandModule } from 'yargs';
import { checkScenarioFile } from '../scenario/load.js';
import { formatProblem } from '../scenario/errors.js';
import { DEFAULT_PLAN_ITERATIONS, expandPlan, formatPlan } from '../scenario/plan.js';
import { EXIT, JSON_FLAG, type GlobalArgs } from '../cli-common.js';

interface Args extends GlobalArgs {
  json: boolean;
  file: string;
  show: number;
}

export const planCommand: CommandModule<GlobalArgs, Args> = {
  command: 'plan <file>',
  describe: 'Print the expanded plan: defaults resolved, iterations unrolled, each step with its deadline',
  builder: (y) =>
    y
      .option('json', JSON_FLAG)
      .positional('file', { type: 'string', demandOption: true, describe: 'scenario YAML file' })
      .option('show', {
        type: 'number',
        default: DEFAULT_PLAN_ITERATIONS,
        describe: 'unroll at most this many iterations',
      })
      .example('$0 plan scenarios/kexec-dma-msi.yaml', 'what a run of this scenario will do') as unknown as Argv<Args>,
  handler: (args) => {
    const result = checkScenarioFile(args.file);
    if (!result.ok) {
      process.stderr.write(result.problems.map(formatProblem).join('\n') + '\n');
      process.exitCode = EXIT.usage;
      return;
    }
    const plan = expandPlan(result.scenario, Math.max(1, Math.floor(args.show)));
    if (args.json) {
      const { scenario, ...rest } = plan;
      process.stdout.write(
        JSON.stringify(
          {
            scenario: { ...scenario, iterations: Number.isFinite(scenario.iterations) ? scenario.iterations : null },
            ...rest,
          },
          null,
          2,
        ) + '\n',
      );
    } else process.stdout.write(formatPlan(plan) + '\n');
  },
};
