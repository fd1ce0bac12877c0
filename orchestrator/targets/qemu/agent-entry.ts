// Which agent a guest starts: the one-file bundle `npm run build` makes
// (dist/bin/agent.cjs: one 9p read after each kexec), unless it is older than
// the compiled modules it was made from (a `tsc` alone since), when the
// modules themselves run: a stale agent would test old code.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The compiled folders the agent is made of. */
const AGENT_FOLDERS = ['agents', 'drivers', 'sys', 'kexec', 'contract'];

function newestJs(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestJs(path));
    else if (entry.name.endsWith('.js')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** `bundle` when dist/bin/agent.cjs is at least as new as every module of the agent, else `modules`. */
export function agentEntry(projectDir: string): 'bundle' | 'modules' {
  const bundle = join(projectDir, 'dist/bin/agent.cjs');
  if (!existsSync(bundle)) return 'modules';
  const made = statSync(bundle).mtimeMs;
  return AGENT_FOLDERS.every((f) => newestJs(join(projectDir, 'dist', f)) <= made) ? 'bundle' : 'modules';
}
