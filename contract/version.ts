// lustress's version, the same for both sides: the agent reports it in its
// hello and the journal records it with every run.

import { readFileSync } from 'node:fs';

export const LUSTRESS_VERSION = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
  .version as string;
