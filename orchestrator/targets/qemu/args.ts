// The QEMU command line and the guest kernel command line for a qemu target.

import { join } from 'node:path';
import type { Kernel } from '../../kernels/kernels.js';
import { GUEST_HUGE_PAGES, type QemuTargetSpec } from '../../scenario/spec.js';
import { DISPOSABLE_CMDLINE_FLAG } from '../../../contract/facts.js';
import type { AgentRoot } from './agent-root.js';

export const AGENT_PORT_NAME = 'lustress.agent';

export interface GuestPaths {
  kernelImage: string;
  /** None where the kernel mounts the agent root as its root. */
  initrd?: string;
  runDir: string;
  projectDir: string;
  nodePath: string;
  agentSocket: string;
  qmpSocket: string;
  /** The agent's root image, given to the guest as a virtio-pmem device. */
  agentRoot?: AgentRoot;
}

/** A loopback-only port forward to an sshd in the guest, configured from `dir`. */
export interface SshForward {
  port: number;
  dir: string;
}

/**
 * Whether `kernel` boots from the agent root with no initramfs: it has virtio-pmem, ext4 and DAX built in (Debian's
 * has them as modules, which only an initramfs can load). init and busybox then run from pages that stay where they
 * were across a kexec, so under TCG their translated code is reused, as Node's is (the first exec from fresh
 * initramfs pages cost 100-150 ms more than later ones), and there is no initramfs for purgatory to hash and copy.
 */
export function bootsFromAgentRoot(kernel: Kernel, agent: AgentEntry | undefined): boolean {
  return (
    agent === 'root' && ['VIRTIO_PMEM', 'BLK_DEV_PMEM', 'EXT4_FS', 'FS_DAX'].every((o) => kernel.config?.get(o) === 'y')
  );
}

/**
 * The kernel command line for a boot of `kernel` in this target. A kexec into
 * the next kernel uses the same function, so every boot of a run looks alike.
 */
export function guestCmdline(
  spec: QemuTargetSpec,
  kernel: Kernel,
  paths: Pick<GuestPaths, 'runDir' | 'projectDir' | 'nodePath'>,
  opts: { logLevel?: string; ssh?: SshForward; agent?: AgentEntry } = {},
): string {
  const words = [
    'console=ttyS0,115200',
    // Warnings and worse reach the console (and the scanner); boot chatter does not.
    'loglevel=5',
    'panic=-1',
    'random.trust_cpu=on',
    // Under TCG on a loaded host the early IO-APIC timer check can fail and panic ("timer doesn't work
    // through Interrupt-remapped IO-APIC"); virtual machines skip it, as KVM guests do.
    'no_timer_check',
    // 32 MiB of 2 MiB pages, so `backing: hugetlb` buffers (and LUO's verdict on them) work in guests.
    `hugepages=${GUEST_HUGE_PAGES}`,
  ];
  if (spec.iommu === 'intel') words.push('intel_iommu=on');
  if (kernel.config?.get('LIVEUPDATE') === 'y') words.push('liveupdate=on', 'kho=on');
  words.push(
    DISPOSABLE_CMDLINE_FLAG,
    `lustress.run=${paths.runDir}`,
    `lustress.project=${paths.projectDir}`,
    `lustress.node=${paths.nodePath}`,
    `lustress.port=${AGENT_PORT_NAME}`,
  );
  if (opts.logLevel) words.push(`lustress.loglevel=${opts.logLevel}`);
  if (opts.agent) words.push(`lustress.agent=${opts.agent}`);
  // Read-only, as the image is shared by every guest; init's writes go to a tmpfs. No rootwait: the kernel waits for
  // the probes under way before it mounts its root, and a root that is not there then should panic, not hang.
  if (bootsFromAgentRoot(kernel, opts.agent))
    words.push('root=/dev/pmem0', 'rootfstype=ext4', 'rootflags=noload,dax=always', 'ro', 'init=/init');
  if (opts.ssh) words.push(`lustress.ssh=${opts.ssh.dir}`);
  if (spec.cmdline) words.push(spec.cmdline);
  return words.join(' ');
}

/**
 * How the guest's /init starts the agent: `modules` the compiled module tree
 * and `bundle` the one-file agent, both from the host root over 9p; `root`
 * the bundle and Node from the agent root device (the bundle over 9p where
 * the kernel cannot mount it).
 */
export type AgentEntry = 'modules' | 'bundle' | 'root';

export function qemuArgs(spec: QemuTargetSpec, paths: GuestPaths, cmdline: string, ssh?: SshForward): string[] {
  const args = [
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
    '-accel',
    'tcg,thread=multi',
    '-cpu',
    'max',
    '-machine',
    'q35,kernel-irqchip=split',
    '-m',
    memoryOption(spec.memoryBytes, paths.agentRoot),
    '-smp',
    String(spec.cpus),
    '-kernel',
    paths.kernelImage,
    ...(paths.initrd ? ['-initrd', paths.initrd] : []),
    '-append',
    cmdline,
    '-serial',
    'stdio',
    '-qmp',
    `unix:${paths.qmpSocket},server=on,wait=off`,
  ];
  // The vIOMMU comes before the devices it translates for.
  if (spec.iommu === 'intel') args.push('-device', 'intel-iommu,intremap=on,caching-mode=on');
  else args.push('-device', 'virtio-iommu-pci');
  args.push(
    '-device',
    'virtio-serial-pci,id=vser',
    '-chardev',
    `socket,id=agent,path=${paths.agentSocket},server=on,wait=off`,
    '-device',
    `virtserialport,bus=vser.0,chardev=agent,name=${AGENT_PORT_NAME}`,
    '-fsdev',
    'local,id=hostroot,path=/,security_model=none,readonly=on',
    '-device',
    'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
    '-fsdev',
    `local,id=rundir,path=${paths.runDir},security_model=none`,
    '-device',
    'virtio-9p-pci,fsdev=rundir,mount_tag=rundir',
  );
  if (paths.agentRoot) {
    // share=off: the guest's view is a private mapping; nothing it does reaches the image file.
    args.push(
      '-object',
      `memory-backend-file,id=agentroot,mem-path=${paths.agentRoot.image},size=${paths.agentRoot.bytes},share=off`,
      '-device',
      'virtio-pmem-pci,memdev=agentroot,id=agentroot-pmem',
    );
  }
  if (ssh) {
    // restrict=on: the guest reaches nothing; only this forward reaches it.
    args.push(
      '-netdev',
      `user,id=ssh,restrict=on,hostfwd=tcp:127.0.0.1:${ssh.port}-:22`,
      '-device',
      'virtio-net-pci,netdev=ssh',
    );
  }
  let port = 0;
  for (const d of spec.devices) {
    for (let i = 0; i < d.count; i++) {
      const n = port++;
      // Each device behind its own PCIe root port: its own bus number and IOMMU group, and SR-IOV works.
      args.push('-device', `pcie-root-port,id=rp${n},chassis=${n + 1},slot=${n + 1}`);
      switch (d.model) {
        case 'igb':
          args.push('-netdev', `user,id=net${n},restrict=on`, '-device', `igb,netdev=net${n},bus=rp${n}`);
          break;
        case 'edu':
          args.push('-device', `edu,bus=rp${n}`);
          break;
        case 'nvme':
          // Its namespace is an image in the run directory: the guest's own scratch, nothing else's.
          args.push(
            '-blockdev',
            `driver=file,node-name=nvme${n},filename=${nvmeImagePath(paths.runDir, spec.name, n)}`,
            '-device',
            `nvme,serial=lustress${n},drive=nvme${n},bus=rp${n}`,
          );
          break;
      }
    }
  }
  return args;
}

/** The size of each emulated NVMe namespace's image (sparse: it costs what the copies write). */
export const NVME_IMAGE_BYTES = 256 * 2 ** 20;

/** Guest RAM and, with an agent root, maxmem: RAM plus the device memory the agent root's image is mapped into. */
function memoryOption(memoryBytes: number, agentRoot: AgentRoot | undefined): string {
  const mib = Math.floor(memoryBytes / 2 ** 20);
  return agentRoot ? `${mib}M,maxmem=${mib + Math.ceil(agentRoot.bytes / 2 ** 30) * 1024}M` : `${mib}M`;
}

/** Where the image of the NVMe device on root port `port` of a target lives. */
export function nvmeImagePath(runDir: string, target: string, port: number): string {
  return join(runDir, `nvme-${target}-${port}.img`);
}

/** The images a target's NVMe devices need, by root port (numbered as qemuArgs numbers them). */
export function nvmeImages(spec: QemuTargetSpec, runDir: string): string[] {
  const images: string[] = [];
  let port = 0;
  for (const d of spec.devices) {
    for (let i = 0; i < d.count; i++, port++)
      if (d.model === 'nvme') images.push(nvmeImagePath(runDir, spec.name, port));
  }
  return images;
}
