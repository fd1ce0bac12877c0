// A QEMU guest as a target: started with the kernel and initramfs lustress
// prepares, reached over a virtio-serial port whose host side is a UNIX
// socket (it survives the guest's kexec), its console kept and scanned.

import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import type { Hello, KexecRequest } from '../../../contract/agent.js';
import { resolveKernel, type Kernel } from '../../kernels/kernels.js';
import { PROJECT_DIR } from '../../project.js';
import type { QemuTargetSpec } from '../../scenario/spec.js';
import { BaseTarget } from '../base.js';
import { FATAL_KINDS } from '../console.js';
import { AgentLink } from '../link.js';
import { orphanProof } from '../orphan.js';
import { TargetLostError, type Target, type TargetContext } from '../target.js';
import { agentEntry } from './agent-entry.js';
import { agentRootImage, type AgentRoot } from './agent-root.js';
import {
  bootsFromAgentRoot,
  guestCmdline,
  NVME_IMAGE_BYTES,
  nvmeImages,
  qemuArgs,
  type GuestPaths,
  type SshForward,
} from './args.js';
import { guestInitramfs } from './initramfs.js';
import { qmpCommand } from './qmp.js';

export const QEMU_BINARY = 'qemu-system-x86_64';
/** After a panic line, how long to collect the rest of the splat before reporting. */
const PANIC_SETTLE_MS = 1500;
/** The guest's init restarts a dead agent; this many deaths in one boot mean it cannot run. */
const AGENT_CRASHES = 3;
const AGENT_EXIT_LINE = /^lustress-init: agent exited/;

export interface QemuTargetOptions extends TargetContext {
  spec: QemuTargetSpec;
  /** An sshd in the guest behind a loopback port forward (the guest kernel needs INET and virtio-net). */
  ssh?: SshForward;
}

export interface BootImage {
  kernel: Kernel;
  /** None where the kernel boots from the agent root. */
  initrd?: string;
  cmdline: string;
}

export class QemuTarget extends BaseTarget implements Target {
  readonly kind = 'qemu' as const;
  private child?: ResultPromise<{ stdin: 'ignore'; buffer: false; reject: false }>;
  private socket?: Socket;
  private sockDir?: string;
  private qemuStderr = '';
  private exit?: { code?: number; signal?: string };
  private exited?: Promise<void>;
  private hardTimer?: NodeJS.Timeout;
  /** What the guest booted first. */
  firstBoot?: BootImage;
  /** Node and the bundled agent as a device of this guest, for every boot of it (none for a stale bundle). */
  private agentRoot?: AgentRoot;

  constructor(private readonly opts: QemuTargetOptions) {
    super(opts.spec.name);
  }

  /** Kernel, initramfs and command line for a boot of `ref` (a fetch or build may happen here). */
  async bootImage(ref: string): Promise<BootImage> {
    const kernel = await resolveKernel(ref, this.opts.kernelOptions);
    const agent = this.agentRoot ? 'root' : agentEntry(PROJECT_DIR);
    let initrd: string | undefined;
    if (this.opts.spec.initrd) initrd = resolve(this.opts.spec.initrd);
    else if (!bootsFromAgentRoot(kernel, agent)) initrd = await guestInitramfs(kernel);
    const cmdline = guestCmdline(
      this.opts.spec,
      kernel,
      { runDir: this.opts.runDir, projectDir: PROJECT_DIR, nodePath: process.execPath },
      {
        ...(this.opts.agentLogLevel ? { logLevel: this.opts.agentLogLevel } : {}),
        ...(this.opts.ssh ? { ssh: this.opts.ssh } : {}),
        agent,
      },
    );
    return { kernel, ...(initrd ? { initrd } : {}), cmdline };
  }

  async kexecImage(ref: string, extra: { initrd?: string; cmdline?: string }): Promise<KexecRequest> {
    const boot = await this.bootImage(ref);
    const initrd = extra.initrd ? resolve(extra.initrd) : boot.initrd;
    return {
      kernel: boot.kernel.image,
      ...(initrd ? { initrd } : {}),
      cmdline: extra.cmdline ? `${boot.cmdline} ${extra.cmdline}` : boot.cmdline,
    };
  }

  async start(deadlineMs: number): Promise<Hello> {
    const { spec, runDir, log } = this.opts;
    if (!spec.initrd && agentEntry(PROJECT_DIR) === 'bundle')
      this.agentRoot = await agentRootImage(PROJECT_DIR, process.execPath);
    const boot = await this.bootImage(this.opts.kernelOverride ?? spec.kernel);
    this.firstBoot = boot;
    this.sockDir = mkdtempSync(join(tmpdir(), 'lustress-'));
    const paths: GuestPaths = {
      kernelImage: boot.kernel.image,
      ...(boot.initrd ? { initrd: boot.initrd } : {}),
      runDir,
      projectDir: PROJECT_DIR,
      nodePath: process.execPath,
      agentSocket: join(this.sockDir, 'agent.sock'),
      qmpSocket: join(this.sockDir, 'qmp.sock'),
      ...(this.agentRoot ? { agentRoot: this.agentRoot } : {}),
    };
    // Sparse: an image costs only what the guest's copies write to it.
    for (const image of nvmeImages(spec, runDir)) {
      if (existsSync(image)) continue;
      writeFileSync(image, '');
      truncateSync(image, NVME_IMAGE_BYTES);
    }
    const args = qemuArgs(spec, paths, boot.cmdline, this.opts.ssh);
    log.info({ target: this.name, kernel: boot.kernel.id }, 'starting QEMU');
    log.debug({ target: this.name, argv: [QEMU_BINARY, ...args] }, 'QEMU command line');
    // Let the rest of a panic's splat reach the console before reporting it.
    const serial = this.openConsole(join(runDir, `console-${this.name}.log`), () =>
      Promise.race([this.exited, sleep(PANIC_SETTLE_MS)]),
    );
    const child = execa(...orphanProof(QEMU_BINARY, args), { stdin: 'ignore', buffer: false, reject: false });
    this.child = child;
    child.stdout!.on('data', (c: Buffer) => serial.push(c));
    child.stderr!.on('data', (c: Buffer) => {
      this.qemuStderr += String(c);
      log.warn({ target: this.name, qemu: String(c).trim() }, 'QEMU says');
    });
    this.exited = child.then((r) => {
      this.exit = {
        ...(r.exitCode !== undefined ? { code: r.exitCode } : {}),
        ...(r.signal ? { signal: r.signal } : {}),
      };
      log.info({ target: this.name, ...this.exit }, 'QEMU exited');
      this.loss.set(this.lostOnExit());
    });
    let crashes = 0;
    serial.onLine((line) => {
      if (/^lustress-init: boot /.test(line)) crashes = 0;
      if (AGENT_EXIT_LINE.test(line) && ++crashes === AGENT_CRASHES) {
        this.loss.set(
          new TargetLostError(
            this.name,
            'exited',
            `the agent exited ${AGENT_CRASHES} times in a row; its stderr ends with:`,
            this.agentStderrTail(),
          ),
        );
      }
    });
    if (this.opts.hardTimeoutMs) {
      this.hardTimer = setTimeout(() => child.kill('SIGKILL'), this.opts.hardTimeoutMs);
      this.hardTimer.unref();
    }
    this.socket = await this.connectAgentSocket(paths.agentSocket, deadlineMs);
    const link = new AgentLink(
      this.name,
      (line) => this.socket!.write(line),
      log,
      this.loss,
      () => this.consoleExcerpt(),
    );
    this.link = link;
    this.socket.on('data', (c) => link.push(c));
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
        if (Date.now() > until)
          throw new TargetLostError(
            this.name,
            'deadline',
            `cannot connect to the agent socket ${path}: ${(e as Error).message}`,
            this.consoleExcerpt(),
          );
        await sleep(50);
      }
    }
  }

  private lostOnExit(): TargetLostError {
    const panic = this.console?.events.find((e) => FATAL_KINDS.has(e.kind));
    if (panic)
      return new TargetLostError(
        this.name,
        'panic',
        `kernel panic: ${panic.text.trim()}`,
        this.console!.excerpt(panic),
        this.consoleEvents(),
      );
    const how = this.exit?.signal ? `was killed by ${this.exit.signal}` : `exited with status ${this.exit?.code}`;
    const said = this.qemuStderr.trim() ? `; QEMU said:\n${this.qemuStderr.trim()}` : '';
    return new TargetLostError(this.name, 'exited', `QEMU ${how}${said}`, this.consoleExcerpt(), this.consoleEvents());
  }

  /** The last lines the guest's agents wrote to stderr (the init keeps them in the run directory). */
  private agentStderrTail(): string[] {
    const files = readdirSync(this.opts.runDir)
      .filter((f) => /^agent-.*\.stderr$/.test(f))
      .map((f) => join(this.opts.runDir, f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    return files.length ? readFileSync(files[0]!, 'utf8').split('\n').slice(-25) : [];
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && !this.exit) {
      const qmp = join(this.sockDir!, 'qmp.sock');
      await qmpCommand(qmp, 'quit').catch((e) =>
        this.opts.log.debug({ target: this.name, err: (e as Error).message }, 'QMP quit failed'),
      );
      if (!(await exitsWithin(this.exited!, 5000))) {
        child.kill('SIGTERM');
        if (!(await exitsWithin(this.exited!, 3000))) child.kill('SIGKILL');
      }
      await this.exited;
    }
    clearTimeout(this.hardTimer);
    this.link?.rpc.abandon('the target was stopped');
    this.socket?.destroy();
    this.console?.close();
    if (this.sockDir) rmSync(this.sockDir, { recursive: true, force: true });
  }
}

async function exitsWithin(exited: Promise<void>, ms: number): Promise<boolean> {
  return Promise.race([exited.then(() => true), sleep(ms).then(() => false)]);
}
