// A QEMU guest as a target: started with the kernel and initramfs lustress
// prepares, reached over a virtio-serial port whose host side is a UNIX
// socket (it survives the guest's kexec), its console kept and scanned.

import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import type { Hello } from '../../../agents/facts.js';
import { RpcPeer } from '../../../agents/protocol.js';
import { resolveKernel, type Kernel, type KernelOptions } from '../../../kexec/kernels.js';
import type { Logger } from '../../log.js';
import type { QemuTargetSpec } from '../../scenario/model.js';
import { ConsoleLog, FATAL_KINDS, type ConsoleEvent } from '../console.js';
import { TargetLostError, type Target } from '../target.js';
import { guestCmdline, qemuArgs, type GuestPaths } from './args.js';
import { guestInitramfs } from './initramfs.js';
import { qmpCommand } from './qmp.js';

export const QEMU_BINARY = 'qemu-system-x86_64';
/** The project as the guest sees it: the same path, through the host root share. */
export const PROJECT_DIR = resolve(new URL('../../../../', import.meta.url).pathname);
/** After a panic line, how long to collect the rest of the splat before reporting. */
const PANIC_SETTLE_MS = 1500;

export interface QemuTargetOptions {
  spec: QemuTargetSpec;
  runDir: string;
  log: Logger;
  /** --kernel PATH: boot this instead of spec.kernel. */
  kernelOverride?: string;
  agentLogLevel?: string;
  /** Killed after this long whatever happens: nothing outlives its run. */
  hardTimeoutMs?: number;
  kernelOptions?: KernelOptions;
}

export interface BootImage {
  kernel: Kernel;
  initrd: string;
  cmdline: string;
}

export class QemuTarget implements Target {
  readonly kind = 'qemu' as const;
  readonly name: string;
  private rpcPeer?: RpcPeer;
  private child?: ResultPromise<{ stdin: 'ignore'; buffer: false; reject: false }>;
  private console?: ConsoleLog;
  private socket?: Socket;
  private sockDir?: string;
  private qemuStderr = '';
  private exit?: { code?: number; signal?: string };
  private exited?: Promise<void>;
  private lastHello?: Hello;
  private readonly helloListeners = new Set<(h: Hello) => void>();
  private hardTimer?: NodeJS.Timeout;
  private lost?: Promise<TargetLostError>;
  private lostError?: TargetLostError;
  private readonly lossListeners = new Set<(l: TargetLostError) => void>();
  /** What the guest booted first. */
  firstBoot?: BootImage;

  constructor(private readonly opts: QemuTargetOptions) {
    this.name = opts.spec.name;
  }

  get rpc(): RpcPeer {
    if (!this.rpcPeer) throw new Error(`${this.name}: not started`);
    return this.rpcPeer;
  }

  /** Kernel, initramfs and command line for a boot of `ref` (a fetch or build may happen here). */
  async bootImage(ref: string): Promise<BootImage> {
    const kernel = await resolveKernel(ref, this.opts.kernelOptions);
    const initrd = this.opts.spec.initrd ? resolve(this.opts.spec.initrd) : await guestInitramfs(kernel);
    const cmdline = guestCmdline(this.opts.spec, kernel, { runDir: this.opts.runDir, projectDir: PROJECT_DIR, nodePath: process.execPath }, { logLevel: this.opts.agentLogLevel });
    return { kernel, initrd, cmdline };
  }

  async start(deadlineMs: number): Promise<Hello> {
    const { spec, runDir, log } = this.opts;
    const boot = await this.bootImage(this.opts.kernelOverride ?? spec.kernel);
    this.firstBoot = boot;
    this.sockDir = mkdtempSync(join(tmpdir(), 'lustress-'));
    const paths: GuestPaths = {
      kernelImage: boot.kernel.image,
      initrd: boot.initrd,
      runDir,
      projectDir: PROJECT_DIR,
      nodePath: process.execPath,
      agentSocket: join(this.sockDir, 'agent.sock'),
      qmpSocket: join(this.sockDir, 'qmp.sock'),
    };
    const args = qemuArgs(spec, paths, boot.cmdline);
    log.info({ target: this.name, kernel: boot.kernel.id }, 'starting QEMU');
    log.debug({ target: this.name, argv: [QEMU_BINARY, ...args] }, 'QEMU command line');
    this.console = new ConsoleLog(join(runDir, `console-${this.name}.log`));
    const child = execa(QEMU_BINARY, args, { stdin: 'ignore', buffer: false, reject: false });
    this.child = child;
    child.stdout!.on('data', (c: Buffer) => this.console!.push(c));
    child.stderr!.on('data', (c: Buffer) => {
      this.qemuStderr += String(c);
      log.warn({ target: this.name, qemu: String(c).trim() }, 'QEMU says');
    });
    this.exited = child.then((r) => {
      this.exit = { ...(r.exitCode !== undefined ? { code: r.exitCode } : {}), ...(r.signal ? { signal: r.signal } : {}) };
      log.info({ target: this.name, ...this.exit }, 'QEMU exited');
    });
    if (this.opts.hardTimeoutMs) {
      this.hardTimer = setTimeout(() => child.kill('SIGKILL'), this.opts.hardTimeoutMs);
      this.hardTimer.unref();
    }
    this.socket = await this.connectAgentSocket(paths.agentSocket, deadlineMs);
    const peer = new RpcPeer((line) => this.socket!.write(line), {}, (garbage) => log.debug({ target: this.name, garbage: garbage.slice(0, 300) }, 'non-protocol bytes on the agent channel'));
    this.rpcPeer = peer;
    this.socket.on('data', (c) => peer.push(c));
    peer.onNotification((method, params) => {
      if (method !== 'hello') return;
      this.lastHello = params as Hello;
      for (const l of this.helloListeners) l(params as Hello);
    });
    void this.whenLost();
    return this.waitForHello(deadlineMs);
  }

  private async connectAgentSocket(path: string, deadlineMs: number): Promise<Socket> {
    const until = Date.now() + Math.min(deadlineMs, 30_000);
    for (;;) {
      if (this.exit) throw this.lostOnExit();
      try {
        return await new Promise<Socket>((ok, fail) => {
          const s = connect(path);
          s.once('connect', () => ok(s));
          s.once('error', fail);
        });
      } catch (e) {
        if (Date.now() > until) throw new TargetLostError(this.name, 'deadline', `cannot connect to the agent socket ${path}: ${(e as Error).message}`, this.consoleExcerpt());
        await sleep(50);
      }
    }
  }

  waitForHello(deadlineMs: number, previousBootId?: string): Promise<Hello> {
    const fresh = (h: Hello | undefined) => h !== undefined && h.bootId !== previousBootId;
    if (fresh(this.lastHello)) return Promise.resolve(this.lastHello!);
    return new Promise<Hello>((resolvePromise, reject) => {
      const cleanups: (() => void)[] = [];
      const finish = (fn: () => void) => {
        cleanups.forEach((c) => c());
        fn();
      };
      const onHello = (h: Hello) => fresh(h) && finish(() => resolvePromise(h));
      this.helloListeners.add(onHello);
      cleanups.push(() => this.helloListeners.delete(onHello));
      const timer = setTimeout(
        () => finish(() => reject(new TargetLostError(this.name, 'deadline', `no hello from ${previousBootId ? 'a new boot' : 'the agent'} within ${Math.round(deadlineMs / 1000)} s`, this.consoleExcerpt()))),
        deadlineMs,
      );
      cleanups.push(() => clearTimeout(timer));
      if (this.lostError) finish(() => reject(this.lostError));
      const onLost = (lost: TargetLostError) => finish(() => reject(lost));
      this.lossListeners.add(onLost);
      cleanups.push(() => this.lossListeners.delete(onLost));
    });
  }

  /** Resolves when the guest is gone (QEMU exited) or panicked; never rejects. Detected once per start. */
  whenLost(): Promise<TargetLostError> {
    if (this.lost) return this.lost;
    const console = this.console!;
    const panicked = new Promise<ConsoleEvent>((ok) => {
      const existing = console.events.find((e) => FATAL_KINDS.has(e.kind));
      if (existing) ok(existing);
      const off = console.onEvent((e) => {
        if (FATAL_KINDS.has(e.kind)) {
          off();
          ok(e);
        }
      });
    });
    this.lost = Promise.race([
      this.exited!.then(() => this.lostOnExit()),
      panicked.then(async (e) => {
        await Promise.race([this.exited, sleep(PANIC_SETTLE_MS)]);
        return new TargetLostError(this.name, 'panic', `kernel panic: ${e.text.trim()}`, console.excerpt(e), this.consoleEvents());
      }),
    ]);
    void this.lost.then((l) => {
      this.lostError = l;
      for (const fn of this.lossListeners) fn(l);
    });
    return this.lost;
  }

  private lostOnExit(): TargetLostError {
    const panic = this.console?.events.find((e) => FATAL_KINDS.has(e.kind));
    if (panic) return new TargetLostError(this.name, 'panic', `kernel panic: ${panic.text.trim()}`, this.console!.excerpt(panic), this.consoleEvents());
    const how = this.exit?.signal ? `was killed by ${this.exit.signal}` : `exited with status ${this.exit?.code}`;
    const said = this.qemuStderr.trim() ? `; QEMU said:\n${this.qemuStderr.trim()}` : '';
    return new TargetLostError(this.name, 'exited', `QEMU ${how}${said}`, this.consoleExcerpt(), this.consoleEvents());
  }

  consoleEvents(): ConsoleEvent[] {
    return this.console ? [...this.console.events] : [];
  }

  consoleExcerpt(event?: ConsoleEvent): string[] {
    return this.console ? this.console.excerpt(event, event ? 8 : 30, event ? 40 : 0) : [];
  }

  get consoleMark(): number {
    return this.console?.mark ?? 0;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && !this.exit) {
      const qmp = join(this.sockDir!, 'qmp.sock');
      await qmpCommand(qmp, 'quit').catch((e) => this.opts.log.debug({ target: this.name, err: (e as Error).message }, 'QMP quit failed'));
      if (!(await exitsWithin(this.exited!, 5000))) {
        child.kill('SIGTERM');
        if (!(await exitsWithin(this.exited!, 3000))) child.kill('SIGKILL');
      }
      await this.exited;
    }
    clearTimeout(this.hardTimer);
    this.rpcPeer?.abandon('the target was stopped');
    this.socket?.destroy();
    this.console?.close();
    if (this.sockDir) rmSync(this.sockDir, { recursive: true, force: true });
  }
}

async function exitsWithin(exited: Promise<void>, ms: number): Promise<boolean> {
  return Promise.race([exited.then(() => true), sleep(ms).then(() => false)]);
}
