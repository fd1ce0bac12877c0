// Running a command on the machine under test: for guest tests and for the
// kernel's own C selftests as a yardstick. Disposable machines only, since it
// runs anything the orchestrator asks for as root.

import { assertDisposable } from './safety.js';
import { ERR, RpcError } from './protocol.js';

export interface ExecParams {
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

export async function execCommand(p: ExecParams, deadline: number, disposable: boolean): Promise<ExecResult> {
  assertDisposable(disposable, `run ${p.argv?.[0] ?? 'a command'}`);
  if (!Array.isArray(p.argv) || !p.argv.length || !p.argv.every((a) => typeof a === 'string')) {
    throw new RpcError(ERR.invalidParams, 'exec needs argv: a non-empty list of strings');
  }
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
