// The parts of the VFIO core that need no device: the IOVA allocator, the
// struct layouts' encoding, capability chains, errors, and the safety gate
// in front of every sysfs write (on this machine they must all refuse).

import t from 'tap';
import fc from 'fast-check';
import { ERR } from '../../contract/rpc.js';
import { capabilityChain } from '../../drivers/vfio/caps.js';
import {
  DmaBuffer,
  IovaAllocator,
  barAlignment,
  bindToVfio,
  disableSriov,
  enableSriov,
  mappableAreas,
  restoreDriver,
  type RegionInfo,
} from '../../drivers/vfio/index.js';
import { DeviceError } from '../../drivers/vfio/errors.js';
import { untilReady } from '../../drivers/vfio/ready.js';
import { SysError } from '../../sys/errors.js';
import { open, O_RDWR } from '../../sys/libc.js';
import { Struct } from '../../sys/struct.js';
import { STRUCTS } from '../../sys/uapi.js';
import { NotPermitted } from '../../sys/errors.js';
import { toRpcError } from '../../agents/errors.js';
import { permitFor } from '../../agents/safety.js';

const MiB = 1n << 20n;

t.test('IOVA allocator', async (t) => {
  const ranges = [
    { start: 0n, last: 0xfedfffffn },
    { start: 0xfef00000n, last: (1n << 48n) - 1n },
  ];
  await t.test('aligns, skips page 0, reuses what is released, honours a limit', async (t) => {
    const a = new IovaAllocator();
    const first = a.allocate(4096n, ranges);
    t.equal(first, 4096n, 'the first page is never handed out');
    const big = a.allocate(4n * MiB, ranges);
    t.equal(big % (2n * MiB), 0n, 'large allocations are 2 MiB aligned');
    const odd = a.allocate(5000n, ranges);
    t.equal(odd % 8192n, 0n, '5000 bytes round to two pages, aligned to 8 KiB');
    t.equal(a.allocatedBytes, 4096n + 4n * MiB + 8192n, 'allocated bytes add up');
    a.release(big);
    t.equal(a.allocate(2n * MiB, ranges), big, 'a released range is reused first-fit');
    t.throws(() => a.release(123n), /was not allocated/, 'releasing an unknown IOVA is an error');
    const limited = new IovaAllocator();
    limited.allocate(128n * MiB, ranges, { limit: 256n * MiB });
    t.ok(limited.allocate(64n * MiB, ranges, { limit: 256n * MiB }) + 64n * MiB <= 256n * MiB, 'stays below the limit');
    t.throws(
      () => limited.allocate(128n * MiB, ranges, { limit: 256n * MiB }),
      /below 0x10000000/,
      'says when the limit is exhausted',
    );
  });
  await t.test('pins a mapping at the IOVA asked for, or says why it cannot', async (t) => {
    const a = new IovaAllocator();
    const GiB = 1024n * MiB;
    t.equal(a.allocate(GiB + MiB, ranges, { at: 4n * GiB }), 4n * GiB, 'exactly where asked');
    t.equal(a.allocate(MiB, ranges, { at: 5n * GiB + MiB }), 5n * GiB + MiB, 'right after the one before');
    t.throws(() => a.allocate(MiB, ranges, { at: 5n * GiB }), /overlaps a mapping at 0x100000000\.\.0x1400fffff/);
    t.throws(() => a.allocate(MiB, ranges, { at: 4n * GiB + 100n }), /is not page-aligned/);
    t.throws(() => a.allocate(4096n, ranges, { at: 0n }), /page 0, which is never mapped/);
    t.throws(
      () => a.allocate(2n * MiB, ranges, { at: 0xfee00000n }),
      /not inside one range the IOMMU allows \(0x0\.\.0xfedfffff, 0xfef00000\.\.0xffffffffffff\)/,
      'the MSI window is not mappable',
    );
    t.throws(
      () => a.allocate(2n * MiB, ranges, { at: 255n * MiB, limit: 256n * MiB }),
      /past the device's limit 0x10000000/,
    );
    const next = a.allocate(4n * GiB, ranges);
    t.ok(next + 4n * GiB <= 4n * GiB || next >= 5n * GiB + 2n * MiB, 'allocation goes around pinned mappings');
  });
  await t.test('never overlaps, never leaves the ranges (property)', async (t) => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 1 << 22 }), fc.boolean()), { maxLength: 60 }), (ops) => {
        const a = new IovaAllocator();
        const live = new Map<bigint, bigint>();
        for (const [size, release] of ops) {
          if (release && live.size) {
            const [iova] = live.keys();
            a.release(iova!);
            live.delete(iova!);
            continue;
          }
          const iova = a.allocate(BigInt(size), ranges, { limit: 1n << 30n });
          const end = iova + ((BigInt(size) + 4095n) / 4096n) * 4096n;
          if (iova < 4096n || end > 1n << 30n) return false;
          if (!ranges.some((r) => iova >= r.start && end - 1n <= r.last)) return false;
          for (const [s, e] of live) if (iova < e && s < end) return false;
          live.set(iova, end);
        }
        return true;
      }),
    );
    t.pass('random allocations and releases stayed disjoint and in range');
  });
});

t.test('struct layouts encode little-endian at their offsets', async (t) => {
  const S = new Struct('demo', { a: 'u8', b: 'u32', c: 'u16', d: 'u64', e: 's32' });
  t.same(S.offsets, { a: 0, b: 4, c: 8, d: 16, e: 24 }, 'natural alignment');
  t.equal(S.size, 32, 'size rounds up to the largest alignment');
  const buf = S.alloc({ b: 0x01020304, d: 0x1122334455667788n, e: -2 }, 8);
  t.equal(buf.length, 40, 'extra room for a flexible array');
  t.same([...buf.subarray(4, 8)], [4, 3, 2, 1], 'u32 little-endian');
  t.same(S.read(buf), { a: 0, b: 0x01020304, c: 0, d: 0x1122334455667788n, e: -2 }, 'reads back');
  t.equal(STRUCTS.vfio_region_info.size, 32, 'vfio_region_info is 32 bytes');
});

t.test('capability chains', async (t) => {
  const info = Buffer.alloc(64);
  const H = STRUCTS.vfio_info_cap_header;
  H.write(info, { id: 1, version: 1, next: 48 }, 32);
  H.write(info, { id: 3, version: 1, next: 0 }, 48);
  t.same(
    capabilityChain(info, 32, 32),
    [
      { id: 1, version: 1, offset: 32 },
      { id: 3, version: 1, offset: 48 },
    ],
    'followed in order',
  );
  H.write(info, { id: 3, version: 1, next: 32 }, 48);
  t.throws(() => capabilityChain(info, 32, 32), /loops/, 'a loop is an error, not a hang');
  t.throws(() => capabilityChain(info, 60, 32), /outside/, 'a header past the end is an error');
  t.throws(() => capabilityChain(info, 8, 32), /outside/, 'a header inside the fixed part is an error');
});

t.test('BAR mapping geometry', async (t) => {
  t.equal(barAlignment(128 * 1024), 4096, 'a 128 KiB BAR: 4 KiB');
  t.equal(barAlignment(16 * 2 ** 20), 2 ** 21, 'a 16 MiB BAR: 2 MiB');
  t.equal(barAlignment(64 * 2 ** 30), 2 ** 30, 'a 64 GiB BAR: 1 GiB');
  t.equal(barAlignment(3 * 2 ** 29 + 4096), 2 ** 30, 'a size that is not a power of two: the largest page it fills');
  t.equal(barAlignment(2 ** 21 - 4096), 4096, 'just under 2 MiB: 4 KiB pages');
  const region = { size: 2 ** 30, sparseAreas: [{ offset: 0, size: 3 * 2 ** 28 }] } as RegionInfo;
  t.same(
    mappableAreas(region),
    [{ offset: 0, size: 3 * 2 ** 28 }],
    'sparse areas, as nvgrace-gpu reports its memory BAR',
  );
  t.same(mappableAreas({ size: 4096 } as RegionInfo), [{ offset: 0, size: 4096 }], 'no sparse capability: all of it');
});

t.test('failures carry the call, errno and device', async (t) => {
  const error = (() => {
    try {
      open('/dev/vfio/no-such-group', O_RDWR, { bdf: '0000:01:00.0' });
    } catch (e) {
      return e;
    }
    return undefined;
  })() as SysError;
  t.type(error, SysError);
  t.equal(error.code, 'ENOENT');
  t.equal(error.errno, 2);
  t.equal(error.bdf, '0000:01:00.0');
  t.match(error.message, /^0000:01:00\.0: open\(\/dev\/vfio\/no-such-group\) failed: ENOENT/);
  t.same(
    error.data,
    { call: 'open(/dev/vfio/no-such-group)', errno: 2, code: 'ENOENT', bdf: '0000:01:00.0' },
    'data for the agent',
  );
});

t.test('DMA buffers are memfds mapped shared, re-wrappable from their fd', async (t) => {
  const a = DmaBuffer.create(5000, { name: 'unit' });
  t.equal(a.size, 8192, 'rounded up to pages');
  a.bytes.fill(7, 0, 100);
  const b = DmaBuffer.fromFd(Number((await import('node:fs')).openSync(`/proc/self/fd/${a.fd}`, 'r+')));
  t.equal(b.size, 8192, 'the size comes from the memfd');
  t.equal(b.bytes[99], 7, 'the same memory through the second mapping');
  b.bytes[100] = 9;
  t.equal(a.bytes[100], 9, 'and back');
  b.close();
  a.close();
  a.close();
  t.pass('closing twice is harmless');
});

t.test('every sysfs writer refuses on a machine not marked disposable', async (t) => {
  const refused = async (what: string, p: Promise<unknown>) => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    t.type(e, NotPermitted, `${what} throws`);
    t.equal(toRpcError(e).code, ERR.refused, `${what} is refused for safety, with the protocol's code for it`);
  };
  // A BDF that exists nowhere: even so, the gate must come before any lookup.
  await refused('bindToVfio', bindToVfio('0000:ff:1f.7', { permit: permitFor(false), force: true }));
  await refused('restoreDriver', restoreDriver('0000:ff:1f.7', { permit: permitFor(false) }));
  await refused('enableSriov', enableSriov('0000:ff:1f.7', 1, { permit: permitFor(false) }));
  await refused('disableSriov', disableSriov('0000:ff:1f.7', { permit: permitFor(false) }));
});

t.test(
  'an access the VFIO driver refuses while the device initialises is retried; any other refusal is not',
  async (t) => {
    const EAGAIN = 11;
    const EIO = 5;
    let calls = 0;
    const answers: (() => number | { notYet: string })[] = [
      () => {
        throw new SysError('pread', EAGAIN, '0000:01:00.0');
      },
      () => ({ notYet: 'the vendor id reads 0xffff' }),
      () => {
        throw new SysError('pread', 62 /* ETIME */, '0000:01:00.0');
      },
      () => 0x10de,
    ];
    const got = await untilReady('0000:01:00.0', 'config space', () => answers[calls++]!(), { intervalMs: 1 });
    t.equal(got, 0x10de, 'the value of the first access that worked');
    t.equal(calls, 4, 'EAGAIN, all ones and ETIME were each retried');
    t.equal(new SysError('pread', EAGAIN).code, 'EAGAIN', 'errno 11 is named EAGAIN, not EWOULDBLOCK');

    calls = 0;
    const eio = await untilReady('0000:01:00.0', 'BAR 0 +0x0', () => {
      calls++;
      throw new SysError('pread', EIO, '0000:01:00.0');
    }).catch((e: unknown) => e);
    t.type(eio, SysError);
    t.equal((eio as SysError).code, 'EIO', 'EIO (memory decoding off) is reported as it is');
    t.equal(calls, 1, 'and at once');

    const started = Date.now();
    const late = await untilReady(
      '0000:01:00.0',
      'BAR 2 +0x0',
      () => {
        throw new SysError('pread', EAGAIN, '0000:01:00.0');
      },
      { timeoutMs: 60, intervalMs: 5 },
    ).catch((e: unknown) => e);
    t.type(late, DeviceError);
    t.match(
      (late as DeviceError).message,
      /^0000:01:00\.0: BAR 2 \+0x0 not ready after \d+ ms and \d+ tries: .*EAGAIN/,
    );
    t.match((late as DeviceError).data, {
      bdf: '0000:01:00.0',
      what: 'BAR 2 +0x0',
      errno: (late as DeviceError).data.errno,
    });
    t.ok(Date.now() - started >= 60, 'it waited out the deadline');
  },
);

t.test('only vfio-pci and <name>_vfio_pci variants are bound, checked before anything is touched', async (t) => {
  const e = await bindToVfio('0000:ff:1f.7', { permit: permitFor(true), vfioDriver: 'igb' }).catch((x: unknown) => x);
  t.type(e, DeviceError);
  t.match((e as Error).message, /"igb" is not a VFIO driver: vfio-pci or a variant named <name>_vfio_pci/);
});
