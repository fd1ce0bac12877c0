// Where this checkout lives: the guests see the project at the same path
// (through the host root share), and child processes run its built CLI.

import { resolve } from 'node:path';

export const PROJECT_DIR = resolve(new URL('../../', import.meta.url).pathname);

/** The built `lustress` command of this checkout. */
export const LUSTRESS_BIN = resolve(PROJECT_DIR, 'dist/bin/lustress.js');
