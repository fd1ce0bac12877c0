// The Live Update Orchestrator's uAPI (include/uapi/linux/liveupdate.h):
// sessions on /dev/liveupdate that carry file descriptors (memfds today;
// VFIO and iommufd where a kernel has handlers for them) across a kexec.
// A session survives only while its fd stays open up to the exec.

import { SysError } from '../sys/errors.js';
import { close, ioctl, open, O_RDWR } from '../sys/libc.js';
import { LIVEUPDATE, STRUCTS } from '../sys/uapi.js';

export const LIVEUPDATE_DEVICE = '/dev/liveupdate';

/** Errors of PRESERVE_FD that mean "this kernel has no handler for this kind of file". */
export const UNSUPPORTED_ERRNOS: ReadonlySet<string> = new Set(['ENOENT', 'EOPNOTSUPP']);

function nameBytes(name: string): Uint8Array {
  const bytes = Buffer.alloc(LIVEUPDATE.LIVEUPDATE_SESSION_NAME_LENGTH);
  const encoded = Buffer.from(name);
  if (encoded.length >= bytes.length)
    throw new Error(`a LUO session name has at most ${bytes.length - 1} bytes: ${name}`);
  encoded.copy(bytes);
  return bytes;
}

/** /dev/liveupdate, which one process at a time may hold open. */
export class LiveUpdate {
  private constructor(private readonly fd: number) {}

  static open(): LiveUpdate {
    try {
      return new LiveUpdate(open(LIVEUPDATE_DEVICE, O_RDWR));
    } catch (e) {
      if (e instanceof SysError && e.code === 'EBUSY')
        throw new SysError(e.call, e.errno, undefined, 'another process holds /dev/liveupdate open');
      if (e instanceof SysError && e.code === 'ENOENT')
        throw new SysError(
          e.call,
          e.errno,
          undefined,
          'this kernel has no LUO (CONFIG_LIVEUPDATE, and liveupdate=on on its command line)',
        );
      throw e;
    }
  }

  createSession(name: string): LuoSession {
    const arg = STRUCTS.liveupdate_ioctl_create_session.alloc({
      size: STRUCTS.liveupdate_ioctl_create_session.size,
      fd: -1,
      name: nameBytes(name),
    });
    ioctl(this.fd, 'LIVEUPDATE_IOCTL_CREATE_SESSION', arg, { detail: `session ${name}` });
    return new LuoSession(STRUCTS.liveupdate_ioctl_create_session.get(arg, 'fd'), name);
  }

  /** A session preserved by the previous kernel. */
  retrieveSession(name: string): LuoSession {
    const arg = STRUCTS.liveupdate_ioctl_retrieve_session.alloc({
      size: STRUCTS.liveupdate_ioctl_retrieve_session.size,
      fd: -1,
      name: nameBytes(name),
    });
    ioctl(this.fd, 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION', arg, { detail: `session ${name}` });
    return new LuoSession(STRUCTS.liveupdate_ioctl_retrieve_session.get(arg, 'fd'), name);
  }

  close(): void {
    close(this.fd);
  }
}

export class LuoSession {
  private closed = false;

  constructor(
    readonly fd: number,
    readonly name: string,
  ) {}

  preserve(fd: number, token: bigint): void {
    const arg = STRUCTS.liveupdate_session_preserve_fd.alloc({
      size: STRUCTS.liveupdate_session_preserve_fd.size,
      fd,
      token,
    });
    ioctl(this.fd, 'LIVEUPDATE_SESSION_PRESERVE_FD', arg, { detail: `session ${this.name}, token ${token}` });
  }

  /** A new fd for the file preserved under `token`. */
  retrieve(token: bigint): number {
    const arg = STRUCTS.liveupdate_session_retrieve_fd.alloc({
      size: STRUCTS.liveupdate_session_retrieve_fd.size,
      fd: -1,
      token,
    });
    ioctl(this.fd, 'LIVEUPDATE_SESSION_RETRIEVE_FD', arg, { detail: `session ${this.name}, token ${token}` });
    return STRUCTS.liveupdate_session_retrieve_fd.get(arg, 'fd');
  }

  /** Hands the session's resources back to the kernel (after every file was retrieved). */
  finish(): void {
    const arg = STRUCTS.liveupdate_session_finish.alloc({ size: STRUCTS.liveupdate_session_finish.size });
    ioctl(this.fd, 'LIVEUPDATE_SESSION_FINISH', arg, { detail: `session ${this.name}` });
  }

  /** Closing an outgoing session before the exec un-preserves everything in it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    close(this.fd);
  }
}
