// Running a command on the machine under test: for guest tests and for the
// kernel's own C selftests as a yardstick. Disposable machines only, since it
// runs anything the orchestrator asks for as root.

import type { AgentParams, AgentResult } from '../contract/agent.js';
import type { Permit } from '../sys/errors.js';
import { BadRequest } from './errors.js';

export async function execCommand(
  p: AgentParams<'exec'>,
  deadline: number,
  permit: Permit,
): Promise<AgentResult<'exec'>> {
  permit.allow(`run ${p.argv[0] ?? 'a command'}`);
  if (!p.argv.length) throw new BadRequest('exec needs argv: a non-empty list of strings');
  const started = Date.now();
  // Leave a second of the caller's budget to send the answer.
  const timeout = Math.max(1000, Math.min(p.timeoutMs ?? Infinity, deadline - started - 1000));
  // Loaded here: execa is a large module tree the agent needs only for this rarely used method.
  const { execa } = await import('execa');
  const r = await execa(p.argv[0]!, p.argv.slice(1), {
    cwd: p.cwd,
    env: p.env,
    timeout,
    reject: false,
    stdin: 'ignore',
    maxBuffer: 64 * 2 ** 20,
  });
  return {
    exitCode: r.exitCode ?? null,
    signal: r.signal ?? null,
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    ms: Date.now() - started,
    timedOut: Boolean(r.timedOut),
  };
}
