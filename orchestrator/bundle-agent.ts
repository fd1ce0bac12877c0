// Part of `npm run build`: the agent and everything it imports as one
// CommonJS file, dist/bin/agent.cjs, and the few lines that start it with a
// V8 code cache, dist/bin/agent-start.cjs (bin/agent-start.ts), which
// lustress guests run. After every kexec the agent's start is part of the
// blackout: one file to read where the module tree was a hundred or so, no
// ES module loader to resolve and link it (under TCG its own modules are
// compiled at every start), and its code compiled once here, into the V8
// code cache agent-start reads (dist/bin/agent.cjs.cache). koffi
// stays outside (a native addon is not bundled), and so does execa, in a
// bundle of its own (dist/bin/agent-exec.cjs) that the exec method loads when
// first asked: half the agent's code, needed by none of its steps, that every
// start would otherwise read and deserialise. The files sit in dist/bin/
// like the modules' entry, so paths relative to the bundle (contract/
// version.ts's ../../package.json) resolve as they do unbundled.

import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/', import.meta.url));
const dist = join(bin, '..');
// The one ES module feature the agent uses that CommonJS has no word for.
const IMPORT_META_URL = 'lustressImportMetaUrl';

/** koffi's prebuilt binary for the machines lustress guests are (Linux, x86-64, glibc). */
const KOFFI_BINARY_PACKAGE = '@koromix/koffi-linux-x64';

/**
 * A package the bundle requires at run time instead of bundling it: `specifier` becomes the CommonJS `contents`
 * (whose own requires stay as they are). A dynamic import of it becomes a require too: the bundle runs as a
 * vm.Script, where import() of a file has no loader.
 */
function requiredAtRunTime(specifier: string, contents: string): Plugin {
  const namespace = `run-time-${specifier}`;
  return {
    name: namespace,
    setup(b) {
      b.onResolve({ filter: new RegExp(`^${specifier}$`) }, (args) =>
        args.namespace === namespace ? { path: specifier, external: true } : { path: specifier, namespace },
      );
      b.onLoad({ filter: /.*/, namespace }, () => ({ contents, loader: 'js' }));
    },
  };
}

/**
 * koffi's own index finds its binary by reading Node's ELF headers in JavaScript, twice: 200-400 ms of every start
 * under TCG, against 70-110 ms to load the binary by its path. The bundle loads it by its path where it is
 * installed, and through koffi's index anywhere else (another architecture, musl).
 */
const koffiDirect = requiredAtRunTime(
  'koffi',
  `let native;
if (process.platform === 'linux' && process.arch === 'x64')
  try { native = require('${KOFFI_BINARY_PACKAGE}/linux_x64/koffi.node'); } catch {}
module.exports = native ?? require('koffi');`,
);

/** The agent's `import('execa')` loads the execa bundle beside it. */
const execaApart = requiredAtRunTime('execa', `module.exports = require('./agent-exec.cjs');`);

await build({
  entryPoints: {
    agent: join(dist, 'agents/main.js'),
    'agent-start': join(dist, 'bin/agent-start.js'),
    'agent-exec': fileURLToPath(import.meta.resolve('execa')),
  },
  outdir: bin,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: [`${KOFFI_BINARY_PACKAGE}/*`, './agent.cjs', './agent-exec.cjs'],
  plugins: [koffiDirect, execaApart],
  define: { 'import.meta.url': IMPORT_META_URL },
  banner: { js: `var ${IMPORT_META_URL} = require('node:url').pathToFileURL(__filename).href;` },
  logLevel: 'warning',
});
// By the Node that runs the build, which is the Node guests run (lustress.node is process.execPath).
await execa(process.execPath, [join(bin, 'agent-start.cjs'), '--make-code-cache'], { stdio: 'inherit' });
