// The system calls lustress makes on the machine under test (VFIO, iommufd,
// LUO, kexec, memfds, eventfds), bound through koffi to glibc. Each wrapper
// throws a SysError that names the call (an ioctl by its uAPI name), errno
// and, where there is one, the device's BDF. Pointers are bigints (koffi 3);
// Buffers passed as `void *` are handed to the kernel in place, so an ioctl
// that writes its argument writes into the Buffer.

import koffi from 'koffi';
import { MAX_BUFFER_BYTES } from '../contract/agent.js';
import { SysError } from './errors.js';
import { IOCTL, type IoctlName } from './uapi.js';

const libc = koffi.load('libc.so.6');

const native = {
  open: libc.func('int open(const char *path, int flags, ...)'),
  close: libc.func('int close(int fd)'),
  ioctl: libc.func('int ioctl(int fd, unsigned long request, ...)'),
  mmap: libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)'),
  munmap: libc.func('int munmap(void *addr, size_t length)'),
  mprotect: libc.func('int mprotect(void *addr, size_t length, int prot)'),
  madvise: libc.func('int madvise(void *addr, size_t length, int advice)'),
  pread: libc.func('long pread(int fd, void *buf, size_t count, int64_t offset)'),
  pwrite: libc.func('long pwrite(int fd, const void *buf, size_t count, int64_t offset)'),
  read: libc.func('long read(int fd, void *buf, size_t count)'),
  // The same call with the buffer as a plain address (native memory from allocNative).
  readAt: libc.func('long read(int fd, uint64_t buf, size_t count)'),
  eventfd: libc.func('int eventfd(unsigned int initval, int flags)'),
  poll: libc.func('int poll(void *fds, unsigned long nfds, int timeout)'),
  memfdCreate: libc.func('int memfd_create(const char *name, unsigned int flags)'),
  ftruncate: libc.func('int ftruncate(int fd, int64_t length)'),
  lseek: libc.func('int64_t lseek(int fd, int64_t offset, int whence)'),
  dup: libc.func('int dup(int fd)'),
  syscall: libc.func('long syscall(long number, ...)'),
  reboot: libc.func('int reboot(int cmd)'),
  sync: libc.func('void sync(void)'),
  klogctl: libc.func('int klogctl(int type, void *buf, int len)'),
};

export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MADV_HUGEPAGE = 14;
export const MFD_CLOEXEC = 0x1;
export const MFD_HUGETLB = 0x4;
export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;
export const POLLIN = 0x1;
export const SEEK_END = 2;

/** Who a call is made for, for the error message: the device's BDF if any. */
export interface CallContext {
  bdf?: string;
  detail?: string;
}

function check<T extends number | bigint>(call: string, result: T, ctx: CallContext = {}): T {
  if (result === -1 || result === -1n) throw new SysError(call, koffi.errno(), ctx.bdf, ctx.detail);
  return result;
}

export function open(path: string, flags: number, ctx?: CallContext): number {
  return check(`open(${path})`, native.open(path, flags | O_CLOEXEC, 'int', 0) as number, ctx);
}

export function close(fd: number, ctx?: CallContext): void {
  check('close', native.close(fd) as number, ctx);
}

export function dup(fd: number, ctx?: CallContext): number {
  return check('dup', native.dup(fd) as number, ctx);
}

/**
 * ioctl with its argument: a Buffer (passed as a pointer, written in place),
 * a number (passed by value, as VFIO_SET_IOMMU and VFIO_CHECK_EXTENSION want),
 * or nothing. Returns the ioctl's non-negative result.
 */
export function ioctl(fd: number, name: IoctlName, arg?: Buffer | number, ctx?: CallContext): number {
  const request = IOCTL[name];
  const result =
    arg === undefined
      ? native.ioctl(fd, request, 'unsigned long', 0)
      : typeof arg === 'number'
        ? native.ioctl(fd, request, 'unsigned long', arg)
        : native.ioctl(fd, request, 'void *', arg);
  return check(name, result as number, ctx);
}

export function mmap(
  addr: bigint | null,
  length: number,
  prot: number,
  flags: number,
  fd: number,
  offset: bigint | number,
  ctx?: CallContext,
): bigint {
  const p = native.mmap(addr, length, prot, flags, fd, offset) as bigint | null;
  // MAP_FAILED is (void *)-1, which koffi hands back as 2^64 - 1.
  if (p === null || p === 0xffffffffffffffffn || p === -1n)
    throw new SysError('mmap', koffi.errno(), ctx?.bdf, ctx?.detail);
  return p;
}

export function munmap(addr: bigint, length: number, ctx?: CallContext): void {
  check('munmap', native.munmap(addr, length) as number, ctx);
}

export function mprotect(addr: bigint, length: number, prot: number, ctx?: CallContext): void {
  check('mprotect', native.mprotect(addr, length, prot) as number, ctx);
}

/** Advice only: a kernel without transparent huge pages refuses it and nothing is lost. */
export function madviseHugepage(addr: bigint, length: number): boolean {
  return native.madvise(addr, length, MADV_HUGEPAGE) === 0;
}

export function pread(fd: number, buf: Buffer, offset: bigint | number, ctx?: CallContext): number {
  return Number(check('pread', native.pread(fd, buf, buf.length, offset) as number, ctx));
}

export function pwrite(fd: number, buf: Buffer, offset: bigint | number, ctx?: CallContext): number {
  return Number(check('pwrite', native.pwrite(fd, buf, buf.length, offset) as number, ctx));
}

/** A non-blocking read: undefined when nothing is there (EAGAIN). */
export function readNonBlocking(fd: number, buf: Buffer, ctx?: CallContext): number | undefined {
  return nonBlocking(Number(native.read(fd, buf, buf.length)), ctx);
}

/**
 * readNonBlocking into native memory at `addr` (allocNative's): koffi passes an address as a plain integer, where it
 * costs tens of µs under TCG to pass a Buffer, and an interrupt's eventfd is read on every MSI.
 */
export function readNonBlockingAt(fd: number, addr: bigint, length: number, ctx?: CallContext): number | undefined {
  return nonBlocking(Number(native.readAt(fd, addr, length)), ctx);
}

function nonBlocking(n: number, ctx?: CallContext): number | undefined {
  if (n >= 0) return n;
  const errno = koffi.errno();
  if (errno === koffi.os.errno.EAGAIN) return undefined;
  throw new SysError('read', errno, ctx?.bdf, ctx?.detail);
}

/** Native memory outside V8's heap, so its address holds still: the address and a view (freeNative gives it back). */
export function allocNative(length: number): { address: bigint; bytes: Uint8Array } {
  const address = koffi.address(koffi.alloc('uint8_t', length));
  return { address, bytes: view(address, length) };
}

export function freeNative(address: bigint): void {
  koffi.free(address);
}

export function eventfd(flags = EFD_NONBLOCK | EFD_CLOEXEC, ctx?: CallContext): number {
  return check('eventfd', native.eventfd(0, flags) as number, ctx);
}

export function memfdCreate(name: string, flags: number, ctx?: CallContext): number {
  return check(`memfd_create(${name})`, native.memfdCreate(name, flags) as number, ctx);
}

export function ftruncate(fd: number, length: number, ctx?: CallContext): void {
  check('ftruncate', native.ftruncate(fd, length) as number, ctx);
}

const SYSLOG_ACTION_READ_ALL = 3;
const SYSLOG_ACTION_SIZE_BUFFER = 10;

/**
 * The kernel's log as syslog(2) gives it, or its newest `maxBytes`: a line a record, "<prio>[secs.usecs] message"
 * with printk times. The kernel formats only the records it hands out, which is most of the call's cost under TCG.
 */
export function kernelLogText(maxBytes = Infinity): string {
  const size = Math.min(
    maxBytes,
    check('klogctl(SYSLOG_ACTION_SIZE_BUFFER)', native.klogctl(SYSLOG_ACTION_SIZE_BUFFER, null, 0) as number),
  );
  const buf = Buffer.allocUnsafe(size);
  const n = check('klogctl(SYSLOG_ACTION_READ_ALL)', native.klogctl(SYSLOG_ACTION_READ_ALL, buf, size) as number);
  return buf.toString('utf8', 0, n);
}

/** Moves to the end of what `fd` refers to and returns that offset (a memfd's size; /dev/kmsg's newest record). */
export function seekToEnd(fd: number, ctx?: CallContext): number {
  return Number(check('lseek', native.lseek(fd, 0, SEEK_END) as bigint | number, ctx));
}

/**
 * Waits up to `timeoutMs` for `fd` to become readable on one of koffi's
 * worker threads, so the event loop keeps running. Resolves true when readable.
 */
export function pollReadable(fd: number, timeoutMs: number, ctx?: CallContext): Promise<boolean> {
  const pollfd = Buffer.alloc(8); // struct pollfd { int fd; short events; short revents; }
  pollfd.writeInt32LE(fd, 0);
  pollfd.writeInt16LE(POLLIN, 4);
  return new Promise((resolve, reject) => {
    native.poll.async(pollfd, 1, Math.max(0, Math.round(timeoutMs)), (err: unknown, n: number) => {
      if (err) reject(err);
      // errno lives on the worker thread that ran poll(); EINTR is the only failure a valid fd can see.
      else if (n < 0) reject(new SysError('poll', koffi.os.errno.EINTR!, ctx?.bdf, ctx?.detail));
      else resolve(n > 0 && (pollfd.readInt16LE(6) & POLLIN) !== 0);
    });
  });
}

/**
 * A Uint8Array over native memory at `addr` (no copy). Refused past Node's largest ArrayBuffer (the contract's buffer
 * limit): koffi aborts the process, with no exception to catch, when asked for a larger view.
 */
export function view(addr: bigint, length: number): Uint8Array {
  if (length > MAX_BUFFER_BYTES)
    throw new RangeError(`a view of ${length} bytes at 0x${addr.toString(16)} is more than Node allows (4 GiB)`);
  return new Uint8Array(koffi.view(addr, length));
}

/**
 * The address of a Buffer's bytes, for uAPI structs that carry a user pointer; keep the Buffer alive across the call.
 */
export function addressOf(buf: Buffer): bigint {
  return koffi.address(buf);
}

const SYS_KEXEC_FILE_LOAD = 320; // x86_64
const LINUX_REBOOT_CMD_KEXEC = 0x45584543;
export const KEXEC_FILE_NO_INITRAMFS = 0x4;

/** kexec_file_load(2); the command line's length counts its terminating NUL. */
export function kexecFileLoad(
  kernelFd: number,
  initrdFd: number,
  cmdline: string,
  flags: number,
  ctx: CallContext,
): void {
  const rc = Number(
    native.syscall(
      SYS_KEXEC_FILE_LOAD,
      'int',
      kernelFd,
      'int',
      initrdFd,
      'unsigned long',
      Buffer.byteLength(cmdline) + 1,
      'str',
      cmdline,
      'unsigned long',
      flags,
    ),
  );
  if (rc !== 0) throw new SysError('kexec_file_load', koffi.errno(), ctx.bdf, ctx.detail);
}

/** sync(2), then reboot(2) into the loaded kexec image; returns only if the kernel refused. */
export function rebootIntoKexec(): never {
  native.sync();
  native.reboot(LINUX_REBOOT_CMD_KEXEC);
  throw new SysError(
    'reboot(LINUX_REBOOT_CMD_KEXEC)',
    koffi.errno(),
    undefined,
    'the kernel did not execute the loaded image',
  );
}
