// Files of the repository, found from the compiled test (dist/test/unit/helpers/).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export function repoPath(...parts: string[]): string {
  return join(REPO_ROOT, ...parts);
}

export interface TextFile {
  file: string;
  text: string;
}

/** The YAML files of a repository folder, in name order. */
export function yamlFiles(folder: string): TextFile[] {
  const dir = repoPath(folder);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => ({ file: join(dir, name), text: readFileSync(join(dir, name), 'utf8') }));
}
