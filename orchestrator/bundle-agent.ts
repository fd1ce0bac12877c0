// Part of `npm run build`: the agent and everything it imports as one file,
// dist/bin/agent.mjs, which lustress guests start. After every kexec the
// agent's start is part of the blackout, and over a 9p share that is cold after
// each reboot, one file is one read where the module tree was a hundred or so.
// koffi stays outside (a native addon is not bundled). The bundle sits in
// dist/bin/ like the modules' entry, so paths relative to import.meta.url
// (contract/version.ts's ../../package.json) resolve as they do unbundled.

import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

await build({
  entryPoints: [fileURLToPath(new URL('../bin/lustress-agent.js', import.meta.url))],
  outfile: fileURLToPath(new URL('../bin/agent.mjs', import.meta.url)),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['koffi'],
  // The CommonJS parts (pino) call require(); an ES module has none of its own.
  banner: {
    js: "import { createRequire as lustressRequire } from 'node:module'; const require = lustressRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
