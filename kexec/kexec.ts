// Loading and executing the next kernel with the syscalls themselves
// (kexec_file_load(2), reboot(2) with LINUX_REBOOT_CMD_KEXEC), so failures
// come back as a SysError naming the exact call and errno, and the agent
// knows the instant it executes. Callers must have checked the machine is
// disposable.

import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import koffi from 'koffi';
import { SysError } from '../drivers/vfio/libc.js';

const SYS_KEXEC_FILE_LOAD = 320; // x86_64
const KEXEC_FILE_NO_INITRAMFS = 0x4;
const LINUX_REBOOT_CMD_KEXEC = 0x45584543;

const libc = koffi.load('libc.so.6');
const syscall = libc.func('long syscall(long number, ...)');
const reboot = libc.func('int reboot(int cmd)');
const sync = libc.func('void sync(void)');

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
    throw new SysError(`open(${path})`, Math.abs(err.errno ?? 0), undefined, `the ${what} cannot be opened`);
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
      throw new SysError(`kexec_file_load(${image.kernel})`, errno, undefined, hint(errno));
    }
  } finally {
    closeSync(kernelFd);
    if (initrdFd >= 0) closeSync(initrdFd);
  }
}

/** What an errno of kexec_file_load usually means. */
function hint(errno: number): string {
  switch (errno) {
    case koffi.os.errno.ENOEXEC:
      return 'not a bzImage this kernel can load';
    case koffi.os.errno.EPERM:
      return 'not root, or a signature or lockdown policy refused it';
    case koffi.os.errno.EBUSY:
      return 'another kexec is in progress';
    default:
      return 'the kernel refused the image';
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
  throw new SysError('reboot(LINUX_REBOOT_CMD_KEXEC)', errno, undefined, 'the kernel did not execute the loaded image');
}
