// Which agent a guest starts: the bundle when it is as new as the modules it
// was made from, the modules otherwise (a stale bundle would test old code).

import t from 'tap';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentEntry } from '../../orchestrator/targets/qemu/agent-entry.js';

t.test('the bundle when it is at least as new as every agent module, else the modules', async (t) => {
  const dir = t.testdir({ dist: { bin: {}, agents: { 'agent.js': '' }, drivers: { nvme: { 'nvme.js': '' } } } });
  const at = (file: string, s: number) => utimesSync(join(dir, file), s, s);
  t.equal(agentEntry(dir), 'modules', 'no bundle: the modules');
  writeFileSync(join(dir, 'dist/bin/agent.cjs'), '');
  at('dist/agents/agent.js', 1000);
  at('dist/drivers/nvme/nvme.js', 1000);
  at('dist/bin/agent.cjs', 1000);
  t.equal(agentEntry(dir), 'bundle', 'made with the modules: the bundle');
  at('dist/drivers/nvme/nvme.js', 1001);
  t.equal(agentEntry(dir), 'modules', 'a module compiled after it (in a subfolder): the modules');
  mkdirSync(join(dir, 'dist/orchestrator'));
  writeFileSync(join(dir, 'dist/orchestrator/cli.js'), '');
  at('dist/drivers/nvme/nvme.js', 900);
  t.equal(agentEntry(dir), 'bundle', "the orchestrator's modules are not the agent's");
});
