// The local target: the agent as a child process of the orchestrator, over
// its stdio. For steps that need no reboot (fill, verify, LUO calls the
// running kernel allows); kexec and rebinding are refused unless the scenario
// marks this machine disposable, which it must never be where people work.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { Hello, KexecRequest } from '../../contract/agent.js';
import { LUSTRESS_BIN } from '../project.js';
import type { LocalTargetSpec } from '../scenario/spec.js';
import { BaseTarget } from './base.js';
import { AgentLink } from './link.js';
import { orphanProof } from './orphan.js';
import { TargetLostError, type Target, type TargetContext } from './target.js';

export interface LocalTargetOptions extends TargetContext {
  spec: LocalTargetSpec;
}

export class LocalTarget extends BaseTarget implements Target {
  readonly kind = 'local' as const;
  private child?: ResultPromise<{
    stdin: 'pipe';
    stdout: 'pipe';
    stderr: { file: string; append: true };
    buffer: false;
    reject: false;
  }>;
  private readonly stderrFile: string;

  constructor(private readonly opts: LocalTargetOptions) {
    super(opts.spec.name);
    this.stderrFile = join(opts.runDir, `agent-${this.name}.log`);
  }

  async start(deadlineMs: number): Promise<Hello> {
    const args = [LUSTRESS_BIN, 'agent', '--stdio', '--log-level', this.opts.agentLogLevel ?? 'info'];
    if (this.opts.spec.disposable) args.push('--disposable');
    const child = execa(...orphanProof(process.execPath, args), {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: { file: this.stderrFile, append: true },
      buffer: false,
      reject: false,
    });
    this.child = child;
    this.opts.log.info({ target: this.name, agentPid: child.pid }, 'agent started');
    void child.then((r) => {
      this.opts.log.info({ target: this.name, status: r.exitCode ?? r.signal }, 'agent exited');
      this.loss.set(
        new TargetLostError(
          this.name,
          'exited',
          `the agent exited (status ${r.exitCode ?? r.signal})`,
          this.consoleExcerpt(),
        ),
      );
    });
    const link = new AgentLink(
      this.name,
      (line) => child.stdin.write(line),
      this.opts.log,
      this.loss,
      () => this.consoleExcerpt(),
    );
    this.link = link;
    child.stdout.on('data', (c: Buffer) => link.push(c));
    return link.waitForHello(deadlineMs);
  }

  /** No console here: the agent's own log stands in for it. */
  protected override withoutConsole(): string[] {
    try {
      return readFileSync(this.stderrFile, 'utf8').split('\n').slice(-30);
    } catch {
      return [];
    }
  }

  async kexecImage(ref: string, extra: { initrd?: string; cmdline?: string }): Promise<KexecRequest> {
    return {
      kernel: ref,
      ...(extra.initrd ? { initrd: extra.initrd } : {}),
      ...(extra.cmdline ? { append: extra.cmdline } : {}),
    };
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.stdin.end();
    const exited = await Promise.race([
      child.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref()),
    ]);
    if (!exited) child.kill('SIGKILL');
    await child;
    this.link?.rpc.abandon('the target was stopped');
  }
}
