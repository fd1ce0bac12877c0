// lustress bisect over three prepared kernels — good, good, bad — names the
// bad one. The "tree" is a git repository whose build step puts a prepared
// kernel in place: the live-update kernel (good) or the same kernel without
// memfd preservation (a real regression: preserved memory does not survive).

import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { bisect } from '../../orchestrator/bisect.js';
import { liveUpdateVariant, resolveKernel } from '../../orchestrator/kernels/kernels.js';
import { guestPrerequisites, testRunDir } from './guest.js';
import { examplePath } from '../../orchestrator/scenario/examples.js';

t.test('a bisect over good, good, bad kernels names the bad commit', async (t) => {
  if (!(await guestPrerequisites(t, ['live-update']))) return;
  const good = await resolveKernel('live-update');
  const bad = await liveUpdateVariant('CONFIG_LIVEUPDATE_MEMFD=n');
  t.not(bad.config?.get('LIVEUPDATE_MEMFD'), 'y', 'the bad kernel really lacks memfd preservation');

  const dir = testRunDir(t);
  const tree = join(dir, 'tree');
  const git = (...args: string[]) =>
    execa('git', ['-C', tree, '-c', 'user.name=lustress', '-c', 'user.email=lustress@example.invalid', ...args]);
  await execa('git', ['init', '-q', '-b', 'main', tree]);
  // Like a kernel tree's .gitignore, for what the build step leaves.
  writeFileSync(join(tree, '.gitignore'), 'bzImage\n');
  const commits: string[] = [];
  for (const [i, kernel] of [good.image, good.image, bad.image].entries()) {
    writeFileSync(join(tree, 'kernel'), kernel + '\n');
    writeFileSync(join(tree, 'revision'), `${i + 1}\n`);
    await git('add', '.gitignore', 'kernel', 'revision');
    await git('commit', '-q', '-m', `revision ${i + 1}`);
    commits.push((await git('rev-parse', 'HEAD')).stdout.trim());
  }
  const scenario = examplePath('memfd-round-trip');

  const output: string[] = [];
  const result = await bisect({
    tree,
    good: commits[0]!,
    bad: commits[2]!,
    scenario,
    build: 'cp "$(cat kernel)" bzImage',
    image: 'bzImage',
    runsDir: join(dir, 'runs'),
    logLevel: 'info',
    onOutput: (line) => output.push(line),
  });
  t.equal(result.firstBad, commits[2], `the third commit is named (${result.summary})`, {
    diagnostic: result.firstBad !== commits[2],
    output,
  });
  t.match(result.log, new RegExp(`# good: \\[${commits[1]}\\]`), 'the middle commit was tested and found good');
  t.equal((await git('status', '--porcelain')).stdout, '', 'the tree is left clean');
  t.notMatch((await git('rev-parse', '--abbrev-ref', 'HEAD')).stdout, /HEAD/, 'the bisect was reset');
});
