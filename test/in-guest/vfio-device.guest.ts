// The VFIO core on igb and edu in each IOMMU mode given: regions and their
// capability chains, BAR mmaps, config space, reset, interrupts (the
// kernel's vfio_pci_device_test), DMA mapping and accounting, two devices
// sharing one address space, and in iommufd mode the cdev bind/attach rules
// (the kernel's vfio_iommufd_setup_test).
//   node vfio-device.guest.js - <mode,mode,...>

import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { driverByName } from '../../drivers/registry.js';
import { memcpy } from '../../drivers/framework.js';
import { DmaBuffer, HUGE_PAGE_SIZE, barAlignment, openVfioDevice, type VfioDevice } from '../../drivers/vfio/index.js';
import { PCI, VFIO } from '../../sys/uapi.js';
import { SysError } from '../../sys/errors.js';
import { type IommuMode } from '../../contract/devices.js';
import { O_RDWR, close, dup, ioctl, open } from '../../sys/libc.js';
import { vfioCdevOf } from '../../sys/sysfs.js';
import { STRUCTS } from '../../sys/uapi.js';
import { EDU_ID, IGB_ID, bdfOf, boundForTest, firstDifference, parseArgs, untimed } from './vfio-fixture.js';

const { modes } = parseArgs();
const igb = bdfOf(IGB_ID);
const edu = bdfOf(EDU_ID);
/** The kernel's test caps the vectors it exercises, to stay clear of interrupt-remapping limits. */
const MAX_TEST_VECTORS = 16;

function withDevice(mode: IommuMode, bdf: string, run: (t: Test, d: VfioDevice) => Promise<void> | void) {
  return async (t: Test) => {
    const device = openVfioDevice({ bdf, iommu: mode });
    try {
      await run(t, device);
    } finally {
      device.close();
    }
  };
}

/** BAR sizes as the PCI core sees them: /sys/bus/pci/devices/BDF/resource, one "start end flags" line per resource. */
function sysfsBarSizes(bdf: string): number[] {
  return readFileSync(`/sys/bus/pci/devices/${bdf}/resource`, 'utf8')
    .trim()
    .split('\n')
    .slice(0, PCI.PCI_STD_NUM_BARS)
    .map((line) => {
      const [start, end] = line
        .trim()
        .split(/\s+/)
        .map((v) => BigInt(v));
      return end! > start! ? Number(end! - start! + 1n) : 0;
    });
}

function deviceCases(mode: IommuMode, bdf: string, id: string) {
  const name = id === IGB_ID ? 'igb' : 'edu';

  t.test(
    `${name} ${mode} config_space_read_write`,
    withDevice(mode, bdf, (t, d) => {
      const [vendor, device] = id.split(':').map((h) => parseInt(h, 16));
      t.equal(d.vendorId, vendor, 'vendor id read through VFIO equals sysfs');
      t.equal(d.deviceId, device, 'device id read through VFIO equals sysfs');
      t.equal(d.config.read32(PCI.PCI_VENDOR_ID), (device! << 16) | vendor!, 'one 32-bit read sees both ids');
      t.notOk(d.config.read16(PCI.PCI_COMMAND) & PCI.PCI_COMMAND_MASTER, 'bus mastering starts off');
      d.setCommandBits(PCI.PCI_COMMAND_MASTER, true);
      t.ok(d.config.read16(PCI.PCI_COMMAND) & PCI.PCI_COMMAND_MASTER, 'bus mastering turned on');
      d.setCommandBits(PCI.PCI_COMMAND_MASTER, false);
      t.notOk(d.config.read16(PCI.PCI_COMMAND) & PCI.PCI_COMMAND_MASTER, 'bus mastering turned off');
      const config = d.config.info;
      t.notOk(config.mmappable, 'config space is not mmap-able');
      t.ok(config.size === 256 || config.size === 4096, `config space is ${config.size} bytes`);
      t.equal(d.config.readBytes(0, 64).readUInt16LE(0), vendor, 'a bulk read of the header starts with the vendor id');
      const msiCap = d.findCapability(name === 'edu' ? PCI.PCI_CAP_ID_MSI : PCI.PCI_CAP_ID_MSIX);
      t.ok(msiCap, `the ${name === 'edu' ? 'MSI' : 'MSI-X'} capability is in the capability list`);
      t.throws(() => d.config.read32(2), /not aligned/, 'a misaligned register access is refused');
    }),
  );

  t.test(
    `${name} ${mode} validate_bars`,
    withDevice(mode, bdf, (t, d) => {
      const sizes = sysfsBarSizes(bdf);
      for (let n = 0; n < PCI.PCI_STD_NUM_BARS; n++) {
        const bar = d.bar(n);
        t.equal(bar.info.size, sizes[n], `BAR ${n}: VFIO reports the size sysfs does (${sizes[n]})`);
        if (!bar.info.mmappable) continue;
        const m = bar.map();
        t.equal(
          m.address % BigInt(barAlignment(bar.info.size)),
          0n,
          `BAR ${n}: mapped at a multiple of ${barAlignment(bar.info.size)}`,
        );
        t.same(m.areas, [{ offset: 0, size: bar.info.size }], `BAR ${n}: no sparse areas, so all of it is mapped`);
        t.throws(
          () => m.bytes(bar.info.size - 2, 4),
          /not inside a mapped area/,
          `BAR ${n}: a view past the end is refused`,
        );
      }
      if (name === 'igb') {
        const msix = d.bar(3);
        t.ok(
          msix.info.capIds.includes(VFIO.VFIO_REGION_INFO_CAP_MSIX_MAPPABLE),
          'the MSI-X BAR carries the MSIX_MAPPABLE capability',
        );
        t.ok(msix.info.msixMappable, '... and it is parsed');
        t.notOk(d.bar(2).info.mmappable, 'the I/O-port BAR cannot be mmap-ed');
        // The I/O BAR is a window onto the registers: IOADDR (0) selects, IODATA (4) reads.
        d.bar(2).write32(0, 0x8);
        t.equal(
          d.bar(2).read32(4),
          d.bar(0).read32(0x8),
          'STATUS read through the I/O-port window equals STATUS in BAR 0',
        );
      } else {
        const ident = d.bar(0).read32(0);
        t.equal(ident & 0xff, 0xed, `edu's identification register reads 0x${ident.toString(16)}`);
        // edu stores its DMA registers whole from each access: only single 8-byte accesses keep the upper half.
        d.bar(0).write64(0x80, 0x123456789abcdef0n);
        t.equal(
          d.bar(0).read64(0x80),
          0x123456789abcdef0n,
          'a 64-bit register written and read back in one access each',
        );
        d.bar(0).write32(0x04, 0x12345678);
        t.equal(
          d.bar(0).read32(0x04),
          ~0x12345678 >>> 0,
          'edu inverts a 32-bit write to its liveness register (one access of exactly 4 bytes)',
        );
        const liveness = d.bar(0).register32(0x04);
        liveness.write(0x0badf00d);
        t.equal(d.bar(0).read32(0x04), ~0x0badf00d >>> 0, 'a register resolved once writes the same register');
        d.bar(0).unmap();
        liveness.write(0x600dcafe);
        t.equal(d.bar(0).read32(0x04), ~0x600dcafe >>> 0, '... and still does, through the region, once unmapped');
        t.throws(() => d.bar(0).register32(0x06), /not aligned/, 'an unaligned register is refused when resolved');
        t.throws(() => d.bar(0).register32(d.bar(0).info.size), /outside/, 'so is one past the end');
      }
      t.equal(
        d.region(VFIO.VFIO_PCI_ROM_REGION_INDEX).info.index,
        VFIO.VFIO_PCI_ROM_REGION_INDEX,
        'the ROM region answers',
      );
    }),
  );

  t.test(
    `${name} ${mode} reset`,
    withDevice(mode, bdf, async (t, d) => {
      if (!d.canReset) {
        t.fail('VFIO reports no reset for this device behind its own root port');
        return;
      }
      if (name === 'igb') {
        d.bar(0).write32(0x2800, 0x12340000); // RDBAL of queue 0
        t.equal(d.bar(0).read32(0x2800), 0x12340000, 'a ring base register holds a value');
      }
      await d.reset();
      t.pass('VFIO_DEVICE_RESET succeeded');
      if (name === 'igb') t.equal(d.bar(0).read32(0x2800), 0, 'the reset cleared it');
      t.equal(d.vendorId, parseInt(id.split(':')[0]!, 16), 'config space answers after the reset');
      // Readiness: a refusal that is not "not yet" is reported at once, with the BDF and errno.
      d.setCommandBits(PCI.PCI_COMMAND_MEMORY, false);
      const started = Date.now();
      const refused = await d.waitReady().catch((e: unknown) => e);
      t.match(refused, { code: 'EIO', bdf }, 'memory decoding off: vfio-pci refuses the BAR read with EIO');
      t.ok(Date.now() - started < 1000, 'and that is reported at once, not retried until the deadline');
      d.setCommandBits(PCI.PCI_COMMAND_MEMORY, true);
      await d.waitReady();
      t.pass('memory decoding on again: the device is ready');
    }),
  );

  for (const [irqName, index] of [
    ['msi', VFIO.VFIO_PCI_MSI_IRQ_INDEX],
    ['msix', VFIO.VFIO_PCI_MSIX_IRQ_INDEX],
  ] as const) {
    t.test(
      `${name} ${mode} irq ${irqName} enable_trigger_disable`,
      withDevice(mode, bdf, async (t, d) => {
        const info = d.irqInfo(index);
        const expected = name === 'edu' ? (irqName === 'msi' ? 1 : 0) : irqName === 'msix' ? 10 : info.count;
        t.equal(info.count, expected, `${irqName} has ${expected} vectors`);
        if (!info.count) return;
        t.ok(info.flags & VFIO.VFIO_IRQ_INFO_EVENTFD, 'signalled through eventfds');
        const count = Math.min(info.count, MAX_TEST_VECTORS);
        d.enableIrqs(index, count);
        t.ok(
          d.config.read16(PCI.PCI_COMMAND) & PCI.PCI_COMMAND_INTX_DISABLE,
          'INTx is masked while message interrupts are on',
        );
        t.throws(() => d.enableIrqs(index, 1), /already enabled/, 'enabling twice is refused');
        for (let v = 0; v < count; v++) {
          t.equal(d.vector(v).take(), 0, `vector ${v}: nothing pending`);
          d.triggerIrq(v);
          t.equal(await d.vector(v).wait(2000), 1, `vector ${v}: one trigger, one count`);
        }
        d.disableIrqs();
        t.throws(() => d.vector(0), /not enabled/, 'the vectors are gone after disable');
      }),
    );
  }

  t.test(
    `${name} ${mode} intx_info`,
    withDevice(mode, bdf, (t, d) => {
      const intx = d.irqInfo(VFIO.VFIO_PCI_INTX_IRQ_INDEX);
      t.equal(intx.count, 1, 'one INTx line');
      t.ok(intx.flags & VFIO.VFIO_IRQ_INFO_AUTOMASKED, 'INTx is level-triggered: VFIO masks it on delivery');
    }),
  );
}

function dmaCases(mode: IommuMode) {
  t.test(
    `${mode} dma_mapping`,
    withDevice(mode, igb, async (t, d) => {
      const ranges = d.iovaRanges();
      t.ok(ranges.length >= 1, `the IOMMU allows ${ranges.length} IOVA range(s)`);
      t.notOk(
        ranges.some((r) => r.start <= 0xfee00000n && r.last >= 0xfee00000n),
        'the MSI window is not in them',
      );
      const a = DmaBuffer.create(3 * 4096 + 1, { name: 'a' });
      const b = DmaBuffer.create(4 * 2 ** 20, { name: 'b' });
      t.equal(a.size, 4 * 4096, 'sizes round up to pages');
      const ia = d.mapDma(a);
      const ib = d.mapDma(b);
      const ib2 = d.mapDma(b);
      t.equal(d.mappedBytes(), a.size + 2 * b.size, 'mappedBytes counts every mapping');
      t.not(ib, ib2, 'mapping one buffer twice gives two IOVAs');
      t.equal(ib % BigInt(HUGE_PAGE_SIZE), 0n, 'a 4 MiB mapping is 2 MiB aligned (huge IOPTEs possible)');
      t.ok(ia >= 4096n, 'IOVA 0 is never handed out');
      t.ok(
        d.isMapped(ib + 100n, 100) && !d.isMapped(ib + BigInt(b.size) - 50n, 100),
        'isMapped knows where mappings end',
      );
      d.unmapDma(ib2);
      t.equal(d.mappedBytes(), a.size + b.size, 'unmapping subtracts');
      t.throws(() => d.unmapDma(ib2), /not mapped/, 'unmapping twice is refused');
      d.dmaLimit = 1n << 28n;
      const small = d.mapDma(a);
      t.ok(small + BigInt(a.size) <= 1n << 28n, 'with a 28-bit limit the IOVA stays below 256 MiB');
      d.unmapDma(small);
      d.unmapDma(ia);
      d.unmapDma(ib);
      t.equal(d.mappedBytes(), 0, 'nothing left mapped');
      a.close();
      b.close();
    }),
  );

  t.test(`${mode} dma into hugetlb and re-wrapped memfds`, async (t) => {
    writeFileSync('/proc/sys/vm/nr_hugepages', '8');
    const device = openVfioDevice({ bdf: igb, iommu: mode });
    const driver = driverByName('igb');
    try {
      await driver.init(device);
      const huge = DmaBuffer.create(HUGE_PAGE_SIZE, { hugetlb: true, name: 'huge' });
      const wrapped = DmaBuffer.fromFd(dup(huge.fd));
      t.equal(wrapped.size, HUGE_PAGE_SIZE, 'fromFd takes the size from the memfd');
      const iova = device.mapDma(wrapped);
      t.equal(iova % BigInt(HUGE_PAGE_SIZE), 0n, 'a huge page is mapped at a huge-page-aligned IOVA');
      const half = HUGE_PAGE_SIZE / 2;
      for (let i = 0; i < 8192; i++) huge.bytes[i] = (i * 13) & 0xff;
      await memcpy(driver, iova, iova + BigInt(half), 8192, 10_000);
      t.equal(
        firstDifference(huge.bytes.subarray(0, 8192), wrapped.bytes.subarray(half, half + 8192)),
        -1,
        'the device copied through the re-wrapped fd, seen through the first mapping',
      );
      device.unmapDma(iova);
      wrapped.close();
      huge.close();
    } finally {
      await driver.remove().catch(() => undefined);
      device.close();
    }
  });

  t.test(`${mode} two devices share one address space`, async (t) => {
    const a = openVfioDevice({ bdf: igb, iommu: mode });
    const b = openVfioDevice({ bdf: edu, iommu: mode });
    const buf = DmaBuffer.create(8192);
    try {
      const eduDriver = driverByName('edu');
      t.ok(eduDriver.probe(b), 'edu probes');
      await eduDriver.init(b);
      const iova = a.mapDma(buf); // mapped for igb, but it is one address space
      t.equal(a.mappedBytes(), 8192, 'the mapping is accounted to the device it was made for');
      t.equal(b.mappedBytes(), 0, '... and not to the other');
      t.ok(b.isMapped(iova, 8192), 'the other device sees the mapping');
      buf.bytes.fill(0).subarray(0, 256).fill(0x42);
      eduDriver.memcpyStart(iova, iova + 4096n, 256, 1);
      await eduDriver.memcpyWait(10_000);
      t.equal(buf.bytes[4096 + 255], 0x42, 'edu copied through the mapping made for igb');
      a.unmapDma(iova);
      a.close();
      eduDriver.sendMsi();
      t.equal(await eduDriver.msiCount(2000), 1, 'edu still works after igb closed');
      await eduDriver.remove();
    } finally {
      a.close();
      b.close();
      buf.close();
    }
  });
}

/** The kernel's vfio_iommufd_setup_test, on raw fds: the cdev's bind/attach rules. */
function cdevCases() {
  const cdev = vfioCdevOf(igb)!;
  const A = STRUCTS.vfio_device_attach_iommufd_pt;
  const bind = (fd: number, iommufd: number) => {
    const B = STRUCTS.vfio_device_bind_iommufd;
    return ioctl(fd, 'VFIO_DEVICE_BIND_IOMMUFD', B.alloc({ argsz: B.size, iommufd }));
  };
  const getInfo = (fd: number) =>
    ioctl(fd, 'VFIO_DEVICE_GET_INFO', STRUCTS.vfio_device_info.alloc({ argsz: STRUCTS.vfio_device_info.size }));
  const ioasAlloc = (iommufd: number) => {
    const arg = STRUCTS.iommu_ioas_alloc.alloc({ size: STRUCTS.iommu_ioas_alloc.size });
    ioctl(iommufd, 'IOMMU_IOAS_ALLOC', arg);
    return STRUCTS.iommu_ioas_alloc.get(arg, 'out_ioas_id');
  };
  const cases: Record<string, (t: Test, fd: number, iommufd: number) => void> = {
    bind: (t, fd, iommufd) => {
      t.equal(bind(fd, iommufd), 0, 'bind succeeds');
      t.equal(getInfo(fd), 0, 'GET_INFO works once bound');
    },
    get_info_without_bind_fails: (t, fd) => {
      t.throws(() => getInfo(fd), SysError, 'GET_INFO before bind fails');
    },
    bind_bad_iommufd_fails: (t, fd) => {
      t.throws(() => bind(fd, -2), SysError, 'binding to fd -2 fails');
    },
    repeated_bind_fails: (t, fd, iommufd) => {
      bind(fd, iommufd);
      t.throws(() => bind(fd, iommufd), SysError, 'a second bind fails');
    },
    attach_detach_pt: (t, fd, iommufd) => {
      bind(fd, iommufd);
      t.equal(
        ioctl(fd, 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', A.alloc({ argsz: A.size, pt_id: ioasAlloc(iommufd) })),
        0,
        'attach to a new IOAS',
      );
      const D = STRUCTS.vfio_device_detach_iommufd_pt;
      t.equal(ioctl(fd, 'VFIO_DEVICE_DETACH_IOMMUFD_PT', D.alloc({ argsz: D.size })), 0, 'detach');
    },
    attach_invalid_pt_fails: (t, fd, iommufd) => {
      bind(fd, iommufd);
      const error = (() => {
        try {
          ioctl(fd, 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', A.alloc({ argsz: A.size, pt_id: 0xffffffff }), { bdf: igb });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      t.type(error, SysError, 'attaching to an id that is no IOAS fails');
      t.equal((error as SysError).bdf, igb, 'the error names the device');
      t.equal((error as SysError).call, 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', 'the error names the ioctl');
      t.ok((error as SysError).errno > 0, `the error carries errno (${(error as SysError).code})`);
    },
  };
  for (const [name, run] of Object.entries(cases)) {
    t.test(`iommufd cdev ${name}`, (t) => {
      const fd = open(cdev, O_RDWR);
      const iommufd = open('/dev/iommu', O_RDWR);
      try {
        run(t, fd, iommufd);
      } finally {
        close(fd);
        close(iommufd);
      }
      t.end();
    });
  }
}

untimed(t);
t.before(async () => {
  await boundForTest(t, igb);
  await boundForTest(t, edu);
});
for (const mode of modes) {
  deviceCases(mode, igb, IGB_ID);
  deviceCases(mode, edu, EDU_ID);
  dmaCases(mode);
}
if (modes.includes('iommufd')) cdevCases();
