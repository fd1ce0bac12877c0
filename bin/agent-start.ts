// How lustress guests start the agent: dist/bin/agent.cjs (the agent bundled
// by orchestrator/bundle-agent.ts) compiled with a V8 code cache, since after
// every kexec the agent's start is part of the blackout and compiling its code
// is a large part of that under TCG. The first boot of a run compiles it and,
// once the hello is out, writes the cache beside the run's logs; later boots
// use it. The cache begins with a line naming Node's version and the bundle
// (its size and modification time: hashing it would load node:crypto, which
// costs more under TCG than the cache saves); V8 itself only checks the
// code's length.
//   node agent-start.cjs [--code-cache FILE] <lustress agent options>

import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';
import type { agentMain } from '../agents/main.js';

/** The cache's data for this code, or undefined if there is none for it. */
function readCache(file: string, identity: Buffer): Buffer | undefined {
  try {
    const data = readFileSync(file);
    return data.subarray(0, identity.length).equals(identity) ? data.subarray(identity.length) : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(file: string, identity: Buffer, script: Script): void {
  try {
    // Renamed into place: guests of one run may write it at once, and a reader never sees half of it.
    const partial = `${file}.${process.pid}`;
    writeFileSync(partial, Buffer.concat([identity, script.createCachedData()]));
    renameSync(partial, file);
  } catch (e) {
    process.stderr.write(`lustress agent: cannot write the code cache ${file}: ${(e as Error).message}\n`);
  }
}

async function start(argv: string[]): Promise<void> {
  const cacheAt = argv[0] === '--code-cache' ? argv[1] : undefined;
  const args = cacheAt === undefined ? argv : argv.slice(2);
  const filename = join(__dirname, 'agent.cjs');
  const source = readFileSync(filename, 'utf8');
  const { size, mtimeMs } = statSync(filename);
  const identity = Buffer.from(`lustress agent code cache: node ${process.version}, ${filename} ${size} ${mtimeMs}\n`);
  const cachedData = cacheAt === undefined ? undefined : readCache(cacheAt, identity);
  // The wrapper Node gives a CommonJS module, so the bundle runs as if required.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename,
    ...(cachedData ? { cachedData } : {}),
  });
  const module = { exports: {} as { agentMain: typeof agentMain } };
  (script.runInThisContext() as (...a: unknown[]) => void)(
    module.exports,
    createRequire(filename),
    module,
    filename,
    __dirname,
  );
  const fresh = cacheAt !== undefined && (!cachedData || script.cachedDataRejected === true);
  await module.exports.agentMain(args, fresh ? { ready: () => writeCache(cacheAt, identity, script) } : {});
}

start(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`lustress agent: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
