// Which GPU this is (PMC_BOOT_0) and, for each generation, the register
// programs that bring its DMA falcon up, reset it and shut it down, in the
// order and with the values of the kernel's nv_falcon.c (nv_falcon_dma_init,
// falcon_enable, falcon_disable); the programs are data, run by bringUp,
// resetFalcon and shutDown over nothing but BAR0's read32/write32.

import { Unsupported } from '../../sys/errors.js';
import {
  ARCH_BY_FIELD,
  ARCH_TITLES,
  FALCONS,
  GPU_ARCH,
  GPU_PROPERTIES,
  NV_BOOT_COMPLETE_OFFSET,
  NV_BOOT_COMPLETE_SUCCESS,
  NV_FALCON_C,
  NV_FALCON_CORE_SELECT_MASK,
  NV_FALCON_CORE_SELECT_OFFSET,
  NV_FALCON_DMACTL_DMEM_SCRUBBING,
  NV_FALCON_DMACTL_READY_MASK,
  NV_FALCON_MAILBOX_RESET_MAGIC,
  NV_FALCON_MAILBOX_TEST_OFFSET,
  NV_FBIF_CTL_ALLOW_FULL_PHYS_MODE,
  NV_FBIF_CTL_ALLOW_PHYS_MODE,
  NV_FBIF_TRANSCFG_SYSMEM_DEFAULT,
  NV_FBIF_TRANSCFG_TARGET_MASK,
  NV_FSP_BOOT_COMPLETE_OFFSET,
  NV_FSP_BOOT_COMPLETE_SUCCESS,
  NV_MEM_CLEAR_OFFSET,
  NV_PMC_BOOT_0,
  NV_PMC_ENABLE,
  VERIFIED_GPUS,
  type FalconRegs,
  type FalconType,
  type GpuArch,
  type GpuProperties,
} from './hw.js';
import { enableFbdma } from './fsp.js';
import { hex, runSteps, type Registers, type Step } from './io.js';

export interface Chip {
  boot0: number;
  arch: GpuArch;
  title: string;
  props: GpuProperties;
  falconType: FalconType;
  falcon: FalconRegs;
  /** Hopper and later: DMA needs the FSP's permission (FBDMA enable over MCTP) first. */
  fsp: boolean;
  /** The kernel's name for this exact PMC_BOOT_0 if its driver was verified on it. */
  verifiedAs?: string;
}

const FULL_MASK = 0xffffffff;

/** nv_gpu_arch_lookup's answer for a PMC_BOOT_0 value, or undefined for an architecture it does not know. */
export function archOf(boot0: number): GpuArch | undefined {
  const field = (boot0 >>> NV_FALCON_C.ARCH_SHIFT) & NV_FALCON_C.ARCH_MASK;
  const impl = (boot0 >>> NV_FALCON_C.IMPL_SHIFT) & NV_FALCON_C.IMPL_MASK;
  if (field === NV_FALCON_C.PASCAL_FIELD && impl === NV_FALCON_C.PASCAL_GP100_IMPL) return 'PASCAL';
  return ARCH_BY_FIELD[field];
}

/** The chip behind a PMC_BOOT_0 value; an architecture the sources do not cover is refused with what it is. */
export function detectChip(boot0: number): Chip {
  boot0 >>>= 0;
  if (boot0 === FULL_MASK)
    throw new Unsupported(
      'PMC_BOOT_0 reads 0xffffffff: the GPU does not answer on BAR0 (memory decoding off, or the GPU is off the bus)',
      { boot0: hex(boot0) },
    );
  const arch = archOf(boot0);
  if (!arch) {
    const field = (boot0 >>> NV_FALCON_C.ARCH_SHIFT) & NV_FALCON_C.ARCH_MASK;
    const families = new Map<string, string[]>();
    for (const [f, a] of Object.entries(ARCH_BY_FIELD)) {
      const family = ARCH_TITLES[a].split(' ')[0]!;
      families.set(family, [...(families.get(family) ?? []), hex(Number(f))]);
    }
    const known = [...families].map(([family, fields]) => `${family} ${fields.join('/')}`);
    throw new Unsupported(
      `PMC_BOOT_0 ${hex(boot0)}: GPU architecture ${hex(field)} is not supported by nv_falcon, which knows only ` +
        `what the Linux 7.3 selftest driver covers (${known.join(', ')})`,
      { boot0: hex(boot0), archField: field },
    );
  }
  const props = GPU_PROPERTIES[arch];
  const verified = VERIFIED_GPUS.find(([value]) => value === boot0);
  return {
    boot0,
    arch,
    title: ARCH_TITLES[arch],
    props,
    falconType: props.falconType,
    falcon: FALCONS[props.falconType],
    fsp: GPU_ARCH[arch] >= GPU_ARCH.HOPPER,
    ...(verified ? { verifiedAs: verified[1] } : {}),
  };
}

/** JSON-safe facts about the chip, for reports. */
export function chipFacts(chip: Chip): Record<string, unknown> {
  return {
    boot0: hex(chip.boot0),
    arch: chip.title,
    falcon: chip.falconType,
    verifiedInKernel: chip.verifiedAs ?? false,
  };
}

/** Turing and later: wait for boot to complete (Hopper: the FSP's register), then for memory scrubbing. */
export function scrubWaitSteps(chip: Chip): Step[] {
  if (!chip.props.memoryClearSupported || GPU_ARCH[chip.arch] < GPU_ARCH.TURING) return [];
  const boot: Step = chip.fsp
    ? {
        kind: 'poll',
        what: 'FSP boot complete',
        offset: NV_FSP_BOOT_COMPLETE_OFFSET,
        mask: FULL_MASK,
        expected: NV_FSP_BOOT_COMPLETE_SUCCESS,
        timeoutMs: NV_FALCON_C.FSP_BOOT_TIMEOUT_MS,
      }
    : {
        kind: 'poll',
        what: 'boot complete',
        offset: NV_BOOT_COMPLETE_OFFSET,
        mask: FULL_MASK,
        expected: NV_BOOT_COMPLETE_SUCCESS,
        timeoutMs: NV_FALCON_C.BOOT_TIMEOUT_MS,
      };
  return [
    boot,
    {
      kind: 'poll',
      what: 'memory scrubbing finished',
      offset: NV_MEM_CLEAR_OFFSET,
      mask: FULL_MASK,
      expected: 0x1,
      timeoutMs: NV_FALCON_C.MEMORY_CLEAR_TIMEOUT_MS,
    },
  ];
}

/** falcon_disable: PMC_ENABLE bits off, or the engine reset asserted; nothing where it cannot be reset from outside. */
export function disableSteps(chip: Chip): Step[] {
  const { falcon, props } = chip;
  if (falcon.noOutsideReset) return [];
  return props.pmcEnableMask
    ? [{ kind: 'modify', offset: NV_PMC_ENABLE, clear: props.pmcEnableMask, set: 0 }]
    : [{ kind: 'write', offset: falcon.engineReset, value: 1 }];
}

/** falcon_enable: the reverse of disableSteps, then the falcon core selected and DMACTL ready. */
export function enableSteps(chip: Chip): Step[] {
  const { falcon, props } = chip;
  if (falcon.noOutsideReset) return [];
  const steps: Step[] = [];
  // Ada: a falcon whose mailbox holds the reset magic is held in reset first.
  if (chip.arch === 'ADA')
    steps.push({
      kind: 'writeIf',
      test: falcon.basePage + NV_FALCON_MAILBOX_TEST_OFFSET,
      equals: NV_FALCON_MAILBOX_RESET_MAGIC,
      offset: falcon.engineReset,
      value: 1,
    });
  steps.push(
    props.pmcEnableMask
      ? { kind: 'modify', offset: NV_PMC_ENABLE, clear: 0, set: props.pmcEnableMask }
      : { kind: 'write', offset: falcon.engineReset, value: 0 },
  );
  if (GPU_ARCH[chip.arch] < GPU_ARCH.HOPPER)
    steps.push(
      // The falcon core, not the RISC-V one.
      {
        kind: 'modify',
        offset: falcon.basePage + NV_FALCON_CORE_SELECT_OFFSET,
        clear: NV_FALCON_CORE_SELECT_MASK,
        set: 0,
      },
      {
        kind: 'poll',
        what: 'falcon DMACTL ready',
        offset: falcon.dmactl,
        mask: NV_FALCON_DMACTL_READY_MASK,
        expected: 0,
        timeoutMs: NV_FALCON_C.DMACTL_READY_TIMEOUT_MS,
      },
    );
  return steps;
}

/** After a reset: DMEM port 0 plain, DMA to system memory with physical addresses, DMEM scrubbing off. */
export function programSteps(chip: Chip): Step[] {
  const { falcon } = chip;
  return [
    { kind: 'write', offset: falcon.dmemControl, value: 0 },
    {
      kind: 'modify',
      offset: falcon.fbifTranscfg,
      clear: NV_FBIF_TRANSCFG_TARGET_MASK,
      set: NV_FBIF_TRANSCFG_SYSMEM_DEFAULT,
    },
    { kind: 'write', offset: falcon.fbifCtl2, value: 0x1 },
    {
      kind: 'modify',
      offset: falcon.fbifCtl,
      clear: 0,
      set: NV_FBIF_CTL_ALLOW_PHYS_MODE | NV_FBIF_CTL_ALLOW_FULL_PHYS_MODE,
    },
    { kind: 'modify', offset: falcon.dmactl, clear: NV_FALCON_DMACTL_DMEM_SCRUBBING, set: 0 },
  ];
}

/** The falcon reset and reprogrammed: what recovery after a failed transfer does. */
export function resetSteps(chip: Chip): Step[] {
  return [...disableSteps(chip), ...enableSteps(chip), ...programSteps(chip)];
}

/** nv_falcon_dma_init after the FSP: scrubbing waits, then the reset and programming. */
export function initSteps(chip: Chip): Step[] {
  return [...scrubWaitSteps(chip), ...resetSteps(chip)];
}

/** nv_falcon_init's register work: identify the chip, let the FSP allow DMA (Hopper), bring the falcon up. */
export async function bringUp(regs: Registers): Promise<Chip> {
  const chip = detectChip(regs.read32(NV_PMC_BOOT_0));
  if (chip.fsp) await enableFbdma(regs);
  await runSteps(regs, initSteps(chip));
  return chip;
}

/** Recovery after a failed transfer: the falcon reset (where it can be from outside) and reprogrammed. */
export function resetFalcon(regs: Registers, chip: Chip): Promise<void> {
  return runSteps(regs, resetSteps(chip));
}

/** nv_falcon_remove's register work: the falcon disabled. */
export function shutDown(regs: Registers, chip: Chip): Promise<void> {
  return runSteps(regs, disableSteps(chip));
}
