// bench/dma inside the guest: the same work done by our igb driver and by
// the kernel's C one, on the same device, and by our nvme driver beside
// them, in alternating rounds (so a change in the guest's speed during the
// run hits all alike).
//   node guest.js <iommu mode> <rounds> <storms> <msis> <vfio_pci_driver_test> <reference>
// Prints one JSON object (see DmaFigures) on stdout.

import { execFileSync, spawnSync } from 'node:child_process';
import { machineIsDisposable, permitFor } from '../../agents/safety.js';
import { driverByName } from '../../drivers/registry.js';
import type { DriverConfig } from '../../drivers/ops.js';
import { DmaBuffer, bindToVfio, openVfioDevice, restoreDriver } from '../../drivers/vfio/index.js';
import { findPciFunctions } from '../../sys/sysfs.js';
import { QEMU_MODELS, type IommuMode } from '../../contract/devices.js';
import { MEASURED, type DmaFigures, type Measured, type Timings } from './figures.js';

/** The nvme device's namespace is the bench guest's own image, all of it scratch. */
const CONFIG: Record<Measured, DriverConfig> = { igb: {}, nvme: { scratch: { namespace: 1, firstLba: 0 } } };

/** The selftests' name for each of our IOMMU modes. */
const SELFTEST_VARIANT: Record<IommuMode, string> = {
  type1: 'vfio_type1_iommu',
  type1v2: 'vfio_type1v2_iommu',
  'iommufd-compat': 'iommufd_compat_type1v2',
  iommufd: 'iommufd',
};

/** Storms of the driver's largest batch of its largest copies, then MSIs one at a time. */
async function ours(name: Measured, bdf: string, mode: IommuMode, storms: number, msis: number): Promise<Timings> {
  const device = openVfioDevice({ bdf, iommu: mode });
  const driver = driverByName(name);
  const buffer = DmaBuffer.create(2 * 2 ** 20, { name: 'bench-dma' });
  try {
    await driver.init(device, device, CONFIG[name]);
    const iova = device.mapDma(buffer);
    const size = driver.maxMemcpySize;
    const count = driver.maxMemcpyCount;
    const stormUs: number[] = [];
    // performance.now, not hrtime.bigint: under TCG the BigInts cost a microsecond a pair, a quarter of C's send_msi.
    for (let i = 0; i < storms; i++) {
      const start = performance.now();
      driver.memcpyStart(iova, iova + BigInt(size), size, count);
      await driver.memcpyWait(60_000);
      stormUs.push((performance.now() - start) * 1e3);
    }
    const msiUs: number[] = [];
    for (let i = 0; i < msis; i++) {
      const start = performance.now();
      driver.sendMsi();
      // As the send-msi step does (agents/devices.ts): a promise only where the interrupt is not counted yet.
      const n = driver.msiTake() || (await driver.msiCount(5000));
      msiUs.push((performance.now() - start) * 1e3);
      if (n !== 1) throw new Error(`sendMsi ${i}: counted ${n} MSIs, not 1`);
    }
    await driver.remove();
    device.unmapDma(iova);
    return { size, count, stormUs, msiUs };
  } finally {
    device.close();
    buffer.close();
  }
}

function timedRun(file: string, args: string[]): { exitCode: number | null; ms: number; output: string } {
  const start = performance.now();
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 600_000 });
  return { exitCode: r.status, ms: performance.now() - start, output: `${r.stdout}${r.stderr}` };
}

async function main(): Promise<void> {
  const [mode, rounds, storms, msis, driverTest, reference] = process.argv.slice(2) as [
    IommuMode,
    string,
    string,
    string,
    string,
    string,
  ];
  const bdfs = Object.fromEntries(
    MEASURED.map((name) => {
      const { id } = QEMU_MODELS[name];
      const bdf = findPciFunctions({ id, index: 0 })[0]?.bdf;
      if (!bdf) throw new Error(`no ${name} (${id}) in this guest`);
      return [name, bdf];
    }),
  ) as Record<Measured, string>;
  const permit = permitFor(machineIsDisposable(false));
  for (const bdf of Object.values(bdfs)) await bindToVfio(bdf, { permit });
  try {
    const variant = SELFTEST_VARIANT[mode];
    const measured: DmaFigures['rounds'] = [];
    for (let r = 0; r < Number(rounds); r++) {
      measured.push({
        igb: await ours('igb', bdfs.igb, mode, Number(storms), Number(msis)),
        nvme: await ours('nvme', bdfs.nvme, mode, Number(storms), Number(msis)),
        reference: JSON.parse(
          execFileSync(reference, [bdfs.igb, variant, storms, msis], { encoding: 'utf8' }),
        ) as Timings,
      });
    }
    const full = timedRun(driverTest, ['-v', variant, bdfs.igb]);
    const figures: DmaFigures = {
      bdfs,
      mode,
      rounds: measured,
      selftest: {
        variant,
        fullRun: {
          exitCode: full.exitCode,
          ms: full.ms,
          summary: full.output
            .split('\n')
            .filter((l) => /^# (Totals|PASSED|FAILED)|^(not )?ok /.test(l))
            .join('\n'),
        },
      },
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    for (const bdf of Object.values(bdfs)) await restoreDriver(bdf, { permit });
  }
}

await main();
