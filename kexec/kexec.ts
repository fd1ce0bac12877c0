// Loading and executing the next kernel with the syscalls themselves
// (kexec_file_load(2), reboot(2) with LINUX_REBOOT_CMD_KEXEC), so failures
// come back as an errno on the exact call and the agent knows the instant it
// executes. Callers must have checked the machine is disposable.

import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { errname } from './errno.js';
import koffi from 'koffi';

const SYS_KEXEC_FILE_LOAD = 320; // x86_64
const KEXEC_FILE_NO_INITRAMFS = 0x4;
const LINUX_REBOOT_CMD_KEXEC = 0x45584543;

const libc = koffi.load('libc.so.6');
const syscall = libc.func('long syscall(long number, ...)');
const reboot = libc.func('int reboot(int cmd)');
const sync = libc.func('void sync(void)');

export class KexecError extends Error {
  constructor(readonly call: string, readonly errno: number, message: string, readonly path?: string) {
    super(`${call}: ${message} (${errname(errno)})`);
    this.name = 'KexecError';
  }
  get data(): Record<string, unknown> {
    return { call: this.call, errno: this.errno, errname: errname(this.errno), ...(this.path ? { path: this.path } : {}) };
  }
}

export interface KexecImage {
  kernel: string;
  initrd?: string;
  cmdline: string;
}

/** What a target asks the agent to load: without `cmdline`, the running kernel's, plus `append`. */
export interface KexecRequest {
  kernel: string;
  initrd?: string;
  cmdline?: string;
  append?: string;
}

function openImage(path: string, what: string): number {
  try {
    return openSync(path, constants.O_RDONLY); // libuv adds O_CLOEXEC itself
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new KexecError('open', -(err.errno ?? 0), `cannot open the ${what} ${path}: ${err.code}`, path);
  }
}

export function kexecLoad(image: KexecImage): void {
  const kernelFd = openImage(image.kernel, 'kernel image');
  let initrdFd = -1;
  try {
    if (image.initrd) initrdFd = openImage(image.initrd, 'initrd');
    const cmdline = image.cmdline;
    const flags = image.initrd ? 0 : KEXEC_FILE_NO_INITRAMFS;
    // cmdline_len counts the terminating NUL.
    const len = Buffer.byteLength(cmdline) + 1;
    const rc = Number(syscall(SYS_KEXEC_FILE_LOAD, 'int', kernelFd, 'int', initrdFd, 'unsigned long', len, 'str', cmdline, 'unsigned long', flags));
    if (rc !== 0) {
      const errno = koffi.errno();
      throw new KexecError('kexec_file_load', errno, `the kernel refused ${image.kernel}${hint(errno)}`, image.kernel);
    }
  } finally {
    closeSync(kernelFd);
    if (initrdFd >= 0) closeSync(initrdFd);
  }
}

function hint(errno: number): string {
  switch (errname(errno)) {
    case 'ENOEXEC':
      return ' (not a bzImage this kernel can load)';
    case 'EKEYREJECTED':
    case 'EPERM':
      return ' (signature or lockdown policy, or not root)';
    case 'EBUSY':
      return ' (another kexec is in progress)';
    default:
      return '';
  }
}

/** Whether a kernel is loaded for kexec (sysfs says so). */
export function kexecLoaded(): boolean {
  try {
    return readFileSync('/sys/kernel/kexec_loaded', 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/** Executes the loaded kernel. Returns only if the kernel refused. */
export function kexecExecute(): never {
  sync();
  reboot(LINUX_REBOOT_CMD_KEXEC);
  const errno = koffi.errno();
  throw new KexecError('reboot(LINUX_REBOOT_CMD_KEXEC)', errno, 'the kernel did not execute the loaded image');
}
