// Running a test file inside a guest: `node FILE ARGS` through the agent's
// exec, its TAP output parsed and replayed here as one assertion per test
// point, so a failure inside the guest fails (and names) the host-side test.

import type { Test } from 'tap';
import { Parser, type Result } from 'tap-parser';
import type { ExecResult } from '../../contract/agent.js';
import type { Target } from '../../orchestrator/targets/target.js';

export async function runInGuest(
  t: Test,
  target: Target,
  file: string,
  args: string[] = [],
  timeoutMs = 600_000,
): Promise<ExecResult> {
  const r = await target.rpc.request(
    'exec',
    { argv: [process.execPath, file, ...args], timeoutMs },
    timeoutMs + 10_000,
  );
  const points: Result[] = [];
  const parser = new Parser({ passes: true });
  parser.on('assert', (res: Result) => points.push(res));
  await new Promise<void>((resolve) => {
    parser.on('complete', () => resolve());
    parser.end(r.stdout);
  });
  for (const p of points) {
    if (p.skip) await t.test(p.name, { skip: `in the guest: ${p.skip === true ? 'skipped' : p.skip}` }, async () => {});
    else t.ok(p.ok, p.name, p.ok ? {} : { diag: p.diag });
  }
  t.ok(points.length > 0, `${file} reported test points`);
  t.equal(
    r.exitCode,
    0,
    `${file} exited 0 in the guest${r.timedOut ? ' (it timed out)' : ''}`,
    r.exitCode === 0 ? {} : { stderr: r.stderr.slice(-4000), stdout: r.stdout.slice(-4000) },
  );
  return r;
}
