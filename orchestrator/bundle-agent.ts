// Part of `npm run build`: the agent and everything it imports as one
// CommonJS file, dist/bin/agent.cjs, and the few lines that start it with a
// V8 code cache, dist/bin/agent-start.cjs (bin/agent-start.ts), which
// lustress guests run. After every kexec the agent's start is part of the
// blackout: one file to read where the module tree was a hundred or so, no
// ES module loader to resolve and link it (under TCG its own modules are
// compiled at every start), and its code compiled once here, into the V8
// code cache agent-start reads (dist/bin/agent.cjs.cache). koffi
// stays outside (a native addon is not bundled). The files sit in dist/bin/
// like the modules' entry, so paths relative to the bundle (contract/
// version.ts's ../../package.json) resolve as they do unbundled.

import { join } from 'node:path';
import { build } from 'esbuild';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/', import.meta.url));
const dist = join(bin, '..');
// The one ES module feature the agent uses that CommonJS has no word for.
const IMPORT_META_URL = 'lustressImportMetaUrl';

await build({
  entryPoints: { agent: join(dist, 'agents/main.js'), 'agent-start': join(dist, 'bin/agent-start.js') },
  outdir: bin,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['koffi', './agent.cjs'],
  define: { 'import.meta.url': IMPORT_META_URL },
  banner: { js: `var ${IMPORT_META_URL} = require('node:url').pathToFileURL(__filename).href;` },
  logLevel: 'warning',
});
// By the Node that runs the build, which is the Node guests run (lustress.node is process.execPath).
await execa(process.execPath, [join(bin, 'agent-start.cjs'), '--make-code-cache'], { stdio: 'inherit' });
