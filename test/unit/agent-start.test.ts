// The guests' agent starter (bin/agent-start.ts, built into dist/bin by
// `npm run build` with the code cache the build makes): the bundle runs and
// says hello from the cache, a cache for other code or one V8 refuses is not
// used (and said so) but the agent still starts, and --make-code-cache makes
// a cache this bundle and this Node take.

import t from 'tap';
import { copyFileSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { AGENT_NODE_FLAGS } from '../../agents/node-flags.js';
import { PROJECT_DIR } from '../../orchestrator/project.js';
import { INIT_SCRIPT } from '../../orchestrator/targets/qemu/initramfs.js';

const BIN = join(PROJECT_DIR, 'dist/bin');
const NO_CACHE = 'compiling the agent without its code cache';

/** One start over stdio with the channel closed at once (with the guests' Node flags): its hello and stderr. */
async function start(dir: string, flags = AGENT_NODE_FLAGS): Promise<{ hello: { method: string }; stderr: string }> {
  const r = await execa(
    process.execPath,
    [...flags, join(dir, 'agent-start.cjs'), '--stdio', '--log-level', 'silent'],
    {
      input: '',
      // A copy outside the project finds koffi where the project has it.
      env: { NODE_PATH: join(PROJECT_DIR, 'node_modules') },
    },
  );
  return { hello: JSON.parse(r.stdout.split('\n')[0]!), stderr: r.stderr };
}

/**
 * The starter, the bundle (with its modification time) and the cache, copied where a test may spoil them, with the
 * package.json the bundle reads its version from; the directory with them.
 */
function copyOfBin(root: string): string {
  const dir = join(root, 'dist/bin');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(PROJECT_DIR, 'package.json'), join(root, 'package.json'));
  for (const name of ['agent-start.cjs', 'agent.cjs', 'agent.cjs.cache'])
    copyFileSync(join(BIN, name), join(dir, name));
  const { atime, mtime } = statSync(join(BIN, 'agent.cjs'));
  utimesSync(join(dir, 'agent.cjs'), atime, mtime);
  return dir;
}

t.test("the build's cache is for this bundle and this Node, and the start takes it", async (t) => {
  const cache = readFileSync(join(BIN, 'agent.cjs.cache'));
  const header = cache.subarray(0, cache.indexOf('\n') + 1).toString();
  const { size, mtimeMs } = statSync(join(BIN, 'agent.cjs'));
  t.equal(
    header,
    `lustress agent code cache: node ${process.version}, agent.cjs ${size} ${Math.floor(mtimeMs / 1000)}\n`,
    "the cache names this Node's version and the bundle's size and modification time",
  );
  // Compiled lazily (only what running the bundle's top level compiles) it is a quarter of the source's size.
  t.ok(cache.length > size, `and holds every function compiled (${cache.length} bytes for ${size} of source)`);
  const r = await start(BIN);
  t.equal(r.hello.method, 'hello', 'the bundle runs and announces itself');
  t.notMatch(r.stderr, NO_CACHE, 'from the cache');
  t.match((await start(BIN, [])).stderr, `${NO_CACHE}: V8 rejected it`, 'which is for the flags guests run Node with');
  t.match(
    readFileSync(INIT_SCRIPT, 'utf8'),
    `exec chroot /host "$node" ${AGENT_NODE_FLAGS.join(' ')} "$@"`,
    "and guests' init starts the agent with those flags",
  );
});

t.test('a cache for other code, or one V8 refuses, is not used, and the agent still starts', async (t) => {
  const dir = copyOfBin(t.testdir({}));
  t.notMatch((await start(dir)).stderr, NO_CACHE, 'an unspoilt copy starts from its cache');

  const bundle = join(dir, 'agent.cjs');
  const { atime, mtime } = statSync(bundle);
  utimesSync(bundle, atime, new Date(mtime.getTime() + 5000));
  const other = await start(dir);
  t.equal(other.hello.method, 'hello', 'a bundle changed after the build still starts');
  t.match(other.stderr, `${NO_CACHE}: ${join(dir, 'agent.cjs.cache')} is for other code`, 'compiled, and says why');
  utimesSync(bundle, atime, mtime);

  const cacheFile = join(dir, 'agent.cjs.cache');
  const good = readFileSync(cacheFile);
  const headerEnd = good.indexOf('\n') + 1;
  writeFileSync(cacheFile, Buffer.concat([good.subarray(0, headerEnd), Buffer.alloc(4096)]));
  const refused = await start(dir);
  t.equal(refused.hello.method, 'hello', 'a cache V8 cannot read does not stop the start');
  t.match(refused.stderr, `${NO_CACHE}: V8 rejected it`);

  await execa(process.execPath, [join(dir, 'agent-start.cjs'), '--make-code-cache']);
  t.same(
    readFileSync(cacheFile).subarray(0, headerEnd),
    good.subarray(0, headerEnd),
    '--make-code-cache makes it again',
  );
  t.notMatch((await start(dir)).stderr, NO_CACHE, 'and V8 takes what it made');
});
