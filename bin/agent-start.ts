// How lustress guests start the agent: dist/bin/agent.cjs (the agent bundled
// by orchestrator/bundle-agent.ts) with the V8 code cache `npm run build`
// made for it, agent.cjs.cache beside it. After every kexec the agent's start
// is part of the blackout, and compiling its code is a large part of that
// under TCG; made at build time, the cache costs no boot a write (written in
// the guest after the first hello, it held the run's first steps up by half a
// second under TCG). Its first line names Node's version and the bundle's
// size and modification time in seconds (hashing the bundle would load node:crypto,
// which costs more under TCG than the cache saves); V8 itself checks only the
// code's length and its own version and flags.
//   node agent-start.cjs <lustress agent options>
//   node agent-start.cjs --make-code-cache     (npm run build)

import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';
import type { agentMain } from '../agents/main.js';
import { AGENT_NODE_FLAGS } from '../agents/node-flags.js';

const BUNDLE = join(__dirname, 'agent.cjs');
const CACHE = `${BUNDLE}.cache`;

/** What a cache must begin with to be for this bundle and this Node. */
function identity(): Buffer {
  const { size, mtimeMs } = statSync(BUNDLE);
  // Whole seconds: the agent root's ext4 image (mke2fs -d) keeps no finer time.
  const mtime = Math.floor(mtimeMs / 1000);
  return Buffer.from(`lustress agent code cache: node ${process.version}, agent.cjs ${size} ${mtime}\n`);
}

/** The bundle as V8 compiles it: in the wrapper Node gives a CommonJS module, so that it runs as if required. */
function compile(cachedData?: Buffer): Script {
  const source = readFileSync(BUNDLE, 'utf8');
  return new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: BUNDLE,
    ...(cachedData ? { cachedData } : {}),
  });
}

/**
 * The build's step: every function compiled now, not just those the first start happens to run, so that no boot
 * compiles any. Lazy compilation is on again before the cache is made, so the cache is for the flags guests run with.
 */
async function makeCache(): Promise<void> {
  // Loaded here: node:v8 brings Node's whole stream stack, which no start of the agent needs.
  const { setFlagsFromString } = await import('node:v8');
  // The flags guests run with, which V8 checks a cache against (a heap flag set now sizes nothing; it only counts).
  for (const flag of AGENT_NODE_FLAGS) setFlagsFromString(flag);
  setFlagsFromString('--no-lazy');
  const script = compile();
  setFlagsFromString('--lazy');
  // Renamed into place: a guest starting meanwhile never reads half of it.
  const partial = `${CACHE}.${process.pid}`;
  writeFileSync(partial, Buffer.concat([identity(), script.createCachedData()]));
  renameSync(partial, CACHE);
}

/** The cache's compiled code if it is for this bundle and this Node; otherwise why not. */
function readCache(): Buffer | string {
  const expected = identity();
  let data: Buffer;
  try {
    data = readFileSync(CACHE);
  } catch (e) {
    return (e as Error).message;
  }
  return data.subarray(0, expected.length).equals(expected)
    ? data.subarray(expected.length)
    : `${CACHE} is for other code or another Node (run npm run build)`;
}

async function start(argv: string[]): Promise<void> {
  if (argv[0] === '--make-code-cache') return makeCache();
  const cache = readCache();
  const script = compile(typeof cache === 'string' ? undefined : cache);
  if (typeof cache === 'string' || script.cachedDataRejected === true)
    process.stderr.write(
      `lustress agent: compiling the agent without its code cache: ${typeof cache === 'string' ? cache : 'V8 rejected it'}\n`,
    );
  const module = { exports: {} as { agentMain: typeof agentMain } };
  (script.runInThisContext() as (...a: unknown[]) => void)(
    module.exports,
    createRequire(BUNDLE),
    module,
    BUNDLE,
    __dirname,
  );
  await module.exports.agentMain(argv);
}

start(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`lustress agent: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
