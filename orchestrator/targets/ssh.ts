// A real host reached with the user's own ssh (its ~/.ssh/config, agent and
// keys): the agent runs there as `lustress agent --stdio`. A kexec drops the
// connection; the target then reconnects with backoff until the new boot's
// agent says hello or the reboot deadline passes. An optional console command
// (IPMI SOL, a serial server) is kept and scanned like a QEMU console.

import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import type { Hello, KexecRequest } from '../../contract/agent.js';
import type { SshTargetSpec } from '../scenario/spec.js';
import { BaseTarget } from './base.js';
import { AgentLink } from './link.js';
import { orphanProof } from './orphan.js';
import { TargetLostError, type Target, type TargetContext } from './target.js';

export interface SshTargetOptions extends TargetContext {
  spec: SshTargetSpec;
}

const BACKOFF_FIRST_MS = 500;
/** Without a reboot deadline from the scenario, how long a dropped connection may take to come back. */
const DEFAULT_RECONNECT_MS = 180_000;
const BACKOFF_MAX_MS = 8000;

type Child = ResultPromise<{ stdin: 'pipe'; stdout: 'pipe'; stderr: 'pipe'; buffer: false; reject: false }>;

export class SshTarget extends BaseTarget implements Target {
  readonly kind = 'ssh' as const;
  private session?: Child;
  private consoleChild?: ResultPromise;
  private stderrTail: string[] = [];
  private stopping = false;
  private reconnecting?: Promise<void>;

  constructor(private readonly opts: SshTargetOptions) {
    super(opts.spec.name);
  }

  /**
   * ssh's own arguments (the destination after "--", so it can never be read as an option); the user's configuration
   * decides the rest.
   */
  sshArgs(): string[] {
    const { spec } = this.opts;
    const agent = `${spec.agent}${spec.disposable ? ' --disposable' : ''} --log-level ${this.opts.agentLogLevel ?? 'info'}`;
    return [
      '-o',
      'BatchMode=yes',
      '-o',
      'ServerAliveInterval=5',
      '-o',
      'ServerAliveCountMax=3',
      '-o',
      'ConnectTimeout=10',
      ...(spec.port ? ['-p', String(spec.port)] : []),
      ...(spec.identity ? ['-i', spec.identity] : []),
      ...spec.options.flatMap((o) => ['-o', o]),
      '--',
      spec.user ? `${spec.user}@${spec.host}` : spec.host,
      agent,
    ];
  }

  async start(deadlineMs: number): Promise<Hello> {
    if (this.opts.spec.console) this.startConsole(this.opts.spec.console);
    const link = new AgentLink(
      this.name,
      (line) => this.session?.stdin.write(line),
      this.opts.log,
      this.loss,
      () => this.consoleExcerpt(),
    );
    this.link = link;
    // How the session ends is handled inside connect (a reconnect, or the loss of the target).
    void this.connect();
    return link.waitForHello(deadlineMs);
  }

  private connect(): Child {
    const child = execa(...orphanProof('ssh', this.sshArgs()), {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
    });
    this.session = child;
    child.stdout.on('data', (c: Buffer) => this.link!.push(c));
    child.stderr.on('data', (c: Buffer) => {
      this.stderrTail = [...this.stderrTail, ...String(c).split('\n').filter(Boolean)].slice(-30);
    });
    void child.then((r) => {
      if (this.session !== child || this.stopping) return;
      this.opts.log.info({ target: this.name, status: r.exitCode, signal: r.signal }, 'ssh session ended');
      this.link!.decoderReset();
      this.link!.rpc.abandon('the ssh session to the host ended');
      this.reconnecting ??= this.reconnect().finally(() => (this.reconnecting = undefined));
    });
    return child;
  }

  /** After a drop (a kexec, a network blip): try again with backoff until the reboot deadline. */
  private async reconnect(): Promise<void> {
    const reconnectMs = this.opts.rebootMs ?? DEFAULT_RECONNECT_MS;
    const until = Date.now() + reconnectMs;
    let wait = BACKOFF_FIRST_MS;
    while (!this.stopping && !this.loss.current) {
      if (Date.now() > until) {
        this.loss.set(
          new TargetLostError(
            this.name,
            'disconnected',
            `the host did not accept ssh again within ${Math.round(reconnectMs / 1000)} s; ssh said: ${this.stderrTail.slice(-3).join(' | ')}`,
            this.consoleExcerpt(),
          ),
        );
        return;
      }
      await sleep(wait);
      wait = Math.min(BACKOFF_MAX_MS, wait * 2);
      const child = this.connect();
      // A session that lasts is back; one that ends at once (host still booting) is retried.
      const ended = await Promise.race([child.then(() => true), sleep(3000).then(() => false)]);
      if (!ended) return;
    }
  }

  private startConsole(command: string): void {
    const serial = this.openConsole(join(this.opts.runDir, `console-${this.name}.log`));
    const child = execa(...orphanProof('sh', ['-c', command]), {
      stdin: 'ignore',
      buffer: false,
      reject: false,
      all: true,
    });
    this.consoleChild = child;
    child.all!.on('data', (c: Buffer) => serial.push(c));
  }

  /** Without a console command, what ssh last said. */
  protected override withoutConsole(): string[] {
    return this.stderrTail;
  }

  async kexecImage(ref: string, extra: { initrd?: string; cmdline?: string }): Promise<KexecRequest> {
    // Paths are the host's; the agent reuses the running command line when none is given.
    const initrd = extra.initrd ?? this.opts.spec.initrd;
    return { kernel: ref, ...(initrd ? { initrd } : {}), ...(extra.cmdline ? { append: extra.cmdline } : {}) };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.link?.rpc.abandon('the target was stopped');
    for (const child of [this.session, this.consoleChild]) {
      if (!child) continue;
      child.kill('SIGTERM');
      await Promise.race([child, sleep(5000)]);
      child.kill('SIGKILL');
    }
    this.console?.close();
  }
}
