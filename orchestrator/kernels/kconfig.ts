// Kernel configurations: reading them (a config file, or IKCONFIG embedded in
// the image) and saying which lustress features a kernel can run.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';

/** CONFIG_X -> "y" | "m" | value; options that are "not set" are absent. */
export type KernelConfig = Map<string, string>;

export function parseConfig(text: string): KernelConfig {
  const config: KernelConfig = new Map();
  for (const line of text.split('\n')) {
    const m = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) config.set(m[1]!, m[2]!.replace(/^"(.*)"$/, '$1'));
  }
  return config;
}

export type Feature =
  | 'guest-boot'
  | 'kexec'
  | 'liveupdate'
  | 'vfio-type1'
  | 'iommufd'
  | 'intel-iommu'
  | 'virtio-iommu'
  | 'sriov'
  | 'hugetlb';

/** What each feature needs built in (or as a module where the kernel's modules are provided). */
export const FEATURE_OPTIONS: Record<Feature, { options: string[]; what: string }> = {
  'guest-boot': {
    what: 'boot as a lustress QEMU guest (serial console, initramfs, virtio-serial agent channel, 9p host root)',
    options: [
      'SERIAL_8250_CONSOLE',
      'BLK_DEV_INITRD',
      'DEVTMPFS',
      'VIRTIO_PCI',
      'VIRTIO_CONSOLE',
      'NET_9P',
      'NET_9P_VIRTIO',
      '9P_FS',
    ],
  },
  kexec: { what: 'kexec-load with kexec_file_load', options: ['KEXEC_FILE'] },
  liveupdate: {
    what: 'reboot: liveupdate (LUO sessions, memfd preservation)',
    options: ['KEXEC_HANDOVER', 'LIVEUPDATE', 'LIVEUPDATE_MEMFD'],
  },
  'vfio-type1': {
    what: 'iommu: type1 / type1v2 (VFIO container)',
    options: ['VFIO', 'VFIO_PCI', 'VFIO_CONTAINER', 'VFIO_IOMMU_TYPE1'],
  },
  iommufd: {
    what: 'iommu: iommufd / iommufd-compat (iommufd, VFIO cdev)',
    options: ['VFIO', 'VFIO_PCI', 'IOMMUFD', 'VFIO_DEVICE_CDEV'],
  },
  'intel-iommu': { what: 'the intel vIOMMU with interrupt remapping', options: ['INTEL_IOMMU', 'IRQ_REMAP'] },
  'virtio-iommu': { what: 'the virtio vIOMMU', options: ['VIRTIO_IOMMU'] },
  sriov: { what: 'devices with vf (SR-IOV)', options: ['PCI_IOV'] },
  hugetlb: { what: 'buffers with backing: hugetlb', options: ['HUGETLBFS'] },
};

export interface FeatureVerdict {
  feature: Feature;
  what: string;
  ok: boolean;
  /** Options not set, or set to "m" where modules cannot be loaded. */
  missing: string[];
}

export function featureReport(config: KernelConfig, modulesLoadable: boolean): FeatureVerdict[] {
  return (Object.keys(FEATURE_OPTIONS) as Feature[]).map((feature) => {
    const { options, what } = FEATURE_OPTIONS[feature];
    const missing = options
      .filter((o) => {
        const v = config.get(o);
        return !(v === 'y' || (v === 'm' && modulesLoadable));
      })
      .map((o) => (config.get(o) === 'm' ? `CONFIG_${o}=m (needs =y)` : `CONFIG_${o}`));
    return { feature, what, ok: missing.length === 0, missing };
  });
}

/** A user kernel's configuration: a config file beside it, else IKCONFIG inside it. */
export async function readKernelConfig(image: string): Promise<{ config: KernelConfig; source: string } | undefined> {
  for (const candidate of configFilesBeside(image)) {
    if (existsSync(candidate)) return { config: parseConfig(readFileSync(candidate, 'utf8')), source: candidate };
  }
  const embedded = await extractIkconfig(image);
  return embedded ? { config: parseConfig(embedded), source: `${image} (IKCONFIG)` } : undefined;
}

function configFilesBeside(image: string): string[] {
  const dir = dirname(image);
  const files = [join(dir, '.config'), join(dir, 'config'), `${image}.config`];
  // A bzImage inside a kernel tree: arch/x86/boot/bzImage -> the tree's .config.
  if (/arch\/[^/]+\/boot$/.test(dir)) files.push(join(dir, '..', '..', '..', '.config'));
  // Debian layout: /boot/vmlinuz-R -> /boot/config-R.
  const release = /vmlinuz-(.+)$/.exec(image)?.[1];
  if (release) files.push(join(dir, `config-${release}`));
  return files;
}

const IKCFG_START = Buffer.from('IKCFG_ST');
const IKCFG_END = Buffer.from('IKCFG_ED');

/** Finds the gzip'd config between IKCFG_ST/IKCFG_ED, in the image or in its decompressed payload. */
export async function extractIkconfig(image: string): Promise<string | undefined> {
  const raw = readFileSync(image);
  const direct = ikconfigIn(raw);
  if (direct) return direct;
  // A bzImage holds the kernel compressed with one of these; try each payload start.
  const magics: [Buffer, string[]][] = [
    [Buffer.from([0x1f, 0x8b, 0x08]), ['gzip', '-dc']],
    [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), ['zstd', '-dc']],
    [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), ['xz', '-dc']],
    // The kernel's LZ4 is the legacy frame format (lz4 -l).
    [Buffer.from([0x02, 0x21, 0x4c, 0x18]), ['lz4', '-dc']],
  ];
  for (const [magic, cmd] of magics) {
    for (let at = raw.indexOf(magic); at !== -1; at = raw.indexOf(magic, at + 1)) {
      // Trailing garbage after the stream makes the tools exit non-zero; the output is still good.
      const result = await execa(cmd[0]!, cmd.slice(1), {
        input: raw.subarray(at),
        encoding: 'buffer',
        reject: false,
        maxBuffer: 512 * 2 ** 20,
      });
      const found = ikconfigIn(Buffer.from(result.stdout));
      if (found) return found;
    }
  }
  return undefined;
}

function ikconfigIn(buf: Buffer): string | undefined {
  const start = buf.indexOf(IKCFG_START);
  if (start === -1) return undefined;
  const end = buf.indexOf(IKCFG_END, start);
  if (end === -1) return undefined;
  try {
    return gunzipSync(buf.subarray(start + IKCFG_START.length, end)).toString('utf8');
  } catch {
    return undefined;
  }
}
