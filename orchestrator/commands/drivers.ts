import type { Argv, CommandModule } from 'yargs';
import { DRIVER_CATALOG, DRIVER_NAMES } from '../../contract/devices.js';
import { JSON_FLAG, type GlobalArgs } from '../cli-common.js';

interface Args extends GlobalArgs {
  json: boolean;
}

/** The catalog as people read it: a block per driver. */
export function driversText(): string {
  return DRIVER_NAMES.map((name) => {
    const d = DRIVER_CATALOG[name];
    const claims = [...d.claims.map((c) => `${c.id} (${c.what})`), ...(d.classes ?? []).map((c) => `class ${c}`)];
    return [
      `${name}: ${d.title}`,
      `  claims   ${claims.join(', ')}`,
      `  limits   ${d.limits}`,
      `  MSI      ${d.msi ?? 'none: send-msi and expect-msi are SKIPped with the reason'}`,
      `  verified ${d.verification}`,
    ].join('\n');
  }).join('\n\n');
}

export const driversCommand: CommandModule<GlobalArgs, Args> = {
  command: 'drivers',
  describe: 'List the userspace drivers: the devices each claims, its limits, its MSI, how it is verified',
  builder: (y) => y.option('json', JSON_FLAG) as unknown as Argv<Args>,
  handler: (args) => {
    if (args.json)
      process.stdout.write(
        JSON.stringify(
          DRIVER_NAMES.map((name) => ({ name, ...DRIVER_CATALOG[name] })),
          null,
          2,
        ) + '\n',
      );
    else process.stdout.write(`${driversText()}\n`);
  },
};
