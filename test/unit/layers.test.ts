// The layering rules (.dependency-cruiser.cjs) hold for the whole tree, and
// they are rules that can fail: a synthetic tree that breaks each one is
// caught, rule by rule.

import t from 'tap';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT, repoPath } from './helpers/repo.js';

const DEPCRUISE = repoPath('node_modules/.bin/depcruise');
const CONFIG = repoPath('.dependency-cruiser.cjs');
const FOLDERS = ['bin', 'contract', 'sys', 'drivers', 'kexec', 'agents', 'orchestrator', 'test', 'bench'];

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

async function cruise(cwd: string, folders: string[]): Promise<Violation[]> {
  const r = await execa(DEPCRUISE, [...folders, '--config', CONFIG, '--output-type', 'json'], { cwd, reject: false });
  if (!r.stdout.trim().startsWith('{')) throw new Error(`depcruise said: ${r.stderr || r.stdout}`);
  return (JSON.parse(r.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

t.test('the tree keeps its layers: no import goes up, none forms a circle', async (t) => {
  const violations = await cruise(REPO_ROOT, FOLDERS);
  t.same(
    violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`),
    [],
  );
});

t.test('each rule catches the import it forbids', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-layers-'));
  const files: Record<string, string> = {
    'tsconfig.json': JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true },
    }),
    'package.json': JSON.stringify({ type: 'module' }),
    'sys/libc.ts': "import { x } from '../drivers/igb.js';\nexport const y = x;\n",
    'drivers/igb.ts': "import { a } from '../agents/agent.js';\nexport const x = a;\n",
    'kexec/luo.ts': "import { b } from '../drivers/igb.js';\nexport const k = b;\n",
    'agents/agent.ts': "import { run } from '../orchestrator/run.js';\nexport const a = run;\n",
    'orchestrator/run.ts': "import { k } from '../kexec/luo.js';\nexport const run = k;\n",
    'contract/agent.ts': "import { a } from '../agents/agent.js';\nexport const c = a;\n",
    'orchestrator/p.ts': "import { q } from './q.js';\nexport const p = q;\n",
    'orchestrator/q.ts': "import { p } from './p.js';\nexport const q = p;\n",
  };
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  const found = new Set(
    (await cruise(dir, ['sys', 'drivers', 'kexec', 'agents', 'orchestrator', 'contract'])).map(
      (v) => `${v.rule.name}: ${v.from} -> ${v.to}`,
    ),
  );
  for (const expected of [
    'sys-is-the-bottom: sys/libc.ts -> drivers/igb.ts',
    'drivers-build-on-sys: drivers/igb.ts -> agents/agent.ts',
    'kexec-builds-on-sys: kexec/luo.ts -> drivers/igb.ts',
    'agents-never-import-the-orchestrator: agents/agent.ts -> orchestrator/run.ts',
    'orchestrator-never-touches-the-target: orchestrator/run.ts -> kexec/luo.ts',
    'contract-imports-nothing: contract/agent.ts -> agents/agent.ts',
    'no-circular: orchestrator/p.ts -> orchestrator/q.ts',
  ]) {
    t.ok(found.has(expected), expected, { found: [...found] });
  }
});
