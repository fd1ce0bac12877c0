// Byte streams the agent talks over: its own stdio (local and ssh targets) or
// a virtio-serial port (QEMU targets).

import { openSync, read, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Transport {
  write(line: string): void;
  /** Starts delivering bytes to `onData`; resolves when the stream ends for good. */
  run(onData: (chunk: Buffer) => void): Promise<void>;
}

export function stdioTransport(): Transport {
  return {
    write: (line) => writeAll(1, Buffer.from(line)),
    run: (onData) =>
      new Promise((resolve) => {
        process.stdin.on('data', onData);
        process.stdin.on('end', resolve);
        process.stdin.on('close', resolve);
      }),
  };
}

/**
 * A virtio-serial port (/dev/vportNpM). Reads return EOF while no host client
 * is connected to the QEMU socket, so EOF means "poll again", not "done".
 */
export function portTransport(path: string): Transport {
  const fd = openSync(path, 'r+');
  return {
    write: (line) => writeAll(fd, Buffer.from(line)),
    run: async (onData) => {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = await new Promise<number>((resolve, reject) =>
          read(fd, buf, 0, buf.length, null, (err, bytes) => (err ? reject(err) : resolve(bytes))),
        );
        if (n > 0) onData(Buffer.from(buf.subarray(0, n)));
        else await sleep(100);
      }
    },
  };
}

/** write(2) may take part of a buffer (a virtio port takes at most 32 KiB per call). */
function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off, data.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}
