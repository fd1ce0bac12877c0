// The guests' agent starter (bin/agent-start.ts, built into dist/bin by
// `npm run build`): the bundle runs and says hello; its first start writes a
// code cache for exactly this code and Node, later starts take it as it is,
// and a cache made for other code is not used but replaced.

import t from 'tap';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_DIR } from '../../orchestrator/project.js';

const START = join(PROJECT_DIR, 'dist/bin/agent-start.cjs');

/** One start over stdio with the channel closed at once: its hello and its exit. */
async function start(cache: string): Promise<{ hello: { method: string; params: { pid: number } } }> {
  const r = await execa(process.execPath, [START, '--code-cache', cache, '--stdio', '--log-level', 'silent'], {
    input: '',
  });
  return { hello: JSON.parse(r.stdout.split('\n')[0]!) };
}

t.test('the first start writes the cache, the next ones use it, a cache of other code is replaced', async (t) => {
  const cache = join(t.testdir({}), 'agent-code-cache');
  const first = await start(cache);
  t.equal(first.hello.method, 'hello', 'the bundle runs and announces itself');
  const bundle = join(PROJECT_DIR, 'dist/bin/agent.cjs');
  const { size, mtimeMs } = statSync(bundle);
  const identity = `lustress agent code cache: node ${process.version}, ${bundle} ${size} ${mtimeMs}\n`;
  const written = readFileSync(cache);
  t.equal(
    written.subarray(0, identity.length).toString(),
    identity,
    "the cache names this bundle and this Node's version",
  );
  t.ok(written.length > 100_000, `and holds the compiled code (${written.length} bytes)`);

  const made = statSync(cache).mtimeMs;
  const second = await start(cache);
  t.equal(second.hello.method, 'hello', 'started from the cache');
  t.not(second.hello.params.pid, first.hello.params.pid);
  t.equal(statSync(cache).mtimeMs, made, 'V8 took the cache: it is not written again');

  const foreign = Buffer.from(written);
  foreign[identity.length - 2] ^= 1; // another modification time
  writeFileSync(cache, foreign);
  t.equal((await start(cache)).hello.method, 'hello', 'a cache for other code is not used');
  t.equal(readFileSync(cache).subarray(0, identity.length).toString(), identity, 'but replaced by one for this code');
});
