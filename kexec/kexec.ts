// Loading and executing the next kernel with the syscalls themselves
// (kexec_file_load(2), reboot(2) with LINUX_REBOOT_CMD_KEXEC), so failures
// come back as a SysError naming the exact call and errno, and the agent
// knows the instant it executes. Callers must have asked their Permit.

import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import koffi from 'koffi';
import type { KexecRequest } from '../contract/agent.js';
import { SysError, nodeErrno, type Permit } from '../sys/errors.js';
import { KEXEC_FILE_NO_INITRAMFS, kexecFileLoad, rebootIntoKexec } from '../sys/libc.js';

export type { KexecRequest };

export interface KexecImage {
  kernel: string;
  initrd?: string;
  cmdline: string;
}

function openImage(path: string, what: string): number {
  try {
    return openSync(path, constants.O_RDONLY); // libuv adds O_CLOEXEC itself
  } catch (e) {
    throw new SysError(`open(${path})`, nodeErrno(e), undefined, `the ${what} cannot be opened`);
  }
}

export function kexecLoad(image: KexecImage, permit: Permit): void {
  permit.allow('load a kernel for kexec');
  const kernelFd = openImage(image.kernel, 'kernel image');
  let initrdFd = -1;
  try {
    if (image.initrd) initrdFd = openImage(image.initrd, 'initrd');
    kexecFileLoad(kernelFd, initrdFd, image.cmdline, image.initrd ? 0 : KEXEC_FILE_NO_INITRAMFS, {});
  } catch (e) {
    if (e instanceof SysError && e.call === 'kexec_file_load')
      throw new SysError(`kexec_file_load(${image.kernel})`, e.errno, undefined, hint(e.errno));
    throw e;
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
export function kexecExecute(permit: Permit): never {
  permit.allow('kexec');
  return rebootIntoKexec();
}
