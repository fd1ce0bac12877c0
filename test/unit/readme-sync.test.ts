// README.md's scenario reference is generated from the schema (npm run docs);
// this fails when the schema changed and the README was not regenerated.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { referenceSection, scenarioReference, withReference } from '../../orchestrator/scenario/reference.js';
import { scenarioSchema } from '../../orchestrator/scenario/schema.js';
import { repoPath } from './helpers/repo.js';

const readme = readFileSync(repoPath('README.md'), 'utf8');
const section = referenceSection(readme);

t.test("README.md's scenario reference is what the generator makes (run npm run docs)", async (t) => {
  t.equal(section, scenarioReference());
});

t.test('every step kind of the schema has its subsection in the README', async (t) => {
  const kinds: string[] = scenarioSchema().definitions.step['x-lustress-one-of'];
  t.ok(kinds.length >= 14, `${kinds.length} step kinds`);
  for (const kind of kinds) t.match(section, `\n#### \`${kind}\`\n`, kind);
});

t.test('writing the reference replaces only the text between the markers', async (t) => {
  const before = '# Title\n\nintro\n\n<!-- scenario-reference:start -->\nstale\n<!-- scenario-reference:end -->\n\n## After\n';
  const after = withReference(before, 'fresh\n');
  t.equal(after, '# Title\n\nintro\n\n<!-- scenario-reference:start -->\nfresh\n<!-- scenario-reference:end -->\n\n## After\n');
  t.equal(referenceSection(after), 'fresh\n');
  t.equal(withReference(after, 'fresh\n'), after, 'writing twice changes nothing');
  t.throws(() => withReference('# no markers\n', 'fresh\n'), /no <!-- scenario-reference:start -->/);
});

t.test('the command line creates a README that does not exist, and refuses one without markers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-readme-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cli = fileURLToPath(new URL('../../orchestrator/scenario/reference.js', import.meta.url));
  const write = (file: string) => spawnSync(process.execPath, [cli, '--write', file], { encoding: 'utf8' });

  const fresh = join(dir, 'README.md');
  t.equal(write(fresh).status, 0);
  t.equal(readFileSync(fresh, 'utf8'), `## Scenario reference\n\n<!-- scenario-reference:start -->\n${scenarioReference()}<!-- scenario-reference:end -->\n`);

  const unmarked = join(dir, 'OTHER.md');
  writeFileSync(unmarked, '# Other\n');
  const refused = write(unmarked);
  t.equal(refused.status, 1);
  t.match(refused.stderr, 'reference: the README has no <!-- scenario-reference:start -->');
  t.equal(readFileSync(unmarked, 'utf8'), '# Other\n', 'left as it was');
});
