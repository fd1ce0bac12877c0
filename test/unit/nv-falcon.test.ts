// drivers/nv_falcon/ without a GPU. Two kinds of check:
//  - against the kernel's own driver: the Linux 7.3 selftest nv_falcon.c and
//    hw.h, compiled here by gcc with readl/writel routed to a small simulated
//    register file. Every constant and table of hw.ts equals hw.h's; chip
//    detection equals nv_gpu_arch_lookup on every architecture field; and the
//    register accesses of bring-up (each generation, Hopper's FSP exchange
//    included), falcon reset, remove and a copy's transfers are the same,
//    access for access, as the C driver's against the same simulation
//    (SimBar below is that simulation in TypeScript). In CI a missing
//    compiler or tree fails; locally it skips.
//  - the pure parts alone: detection, planning, CMD words, and the
//    asynchronous sequence against a fake engine (FakeEngine: a plain
//    read32/write32 object that simulates the done bit and moves the bytes).
// Neither is a test of hardware: the driver has never run on a GPU.

import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import * as HW from '../../drivers/nv_falcon/hw.js';
import {
  archOf,
  bringUp,
  detectChip,
  disableSteps,
  enableSteps,
  initSteps,
  programSteps,
  resetSteps,
  shutDown,
  type Chip,
} from '../../drivers/nv_falcon/chip.js';
import {
  DmaSequence,
  dmaCommand,
  planBatch,
  planCopy,
  sizeCode,
  transferAt,
  transferWrites,
  type Outcome,
} from '../../drivers/nv_falcon/dma.js';
import { fbdmaEnablePacket, responseProblem } from '../../drivers/nv_falcon/fsp.js';
import { runSteps, type Registers } from '../../drivers/nv_falcon/io.js';
import { NvFalconOps } from '../../drivers/nv_falcon/nv_falcon.js';
import { Unsupported } from '../../sys/errors.js';
import { FETCH_HINT, selftestTree } from './helpers/selftest-tree.js';
import { prerequisiteMissing } from './helpers/prerequisite.js';

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** One sample PMC_BOOT_0 per architecture: the kernel's verified GPUs. */
const SAMPLES: Record<HW.GpuArch, number> = {
  KEPLER: 0x0f22d0a1, // K80
  MAXWELL_GEN1: 0x117010a2, // GTX750
  MAXWELL_GEN2: 0x124320a1, // M60
  PASCAL: 0x130000a1, // P100
  PASCAL_10X: 0x134000a1, // P4
  VOLTA: 0x140000a1, // V100
  TURING: 0x164000a1, // T4
  AMPERE: 0x170000a1, // A100
  ADA: 0x194000a1, // L4
  HOPPER: 0x180000a1, // H100
};
const ARCHS = Object.keys(HW.GPU_ARCH) as HW.GpuArch[];

// ---------------------------------------------------------------------------
// The simulated register file both drivers run against.

/** Register values a simulation starts from: ready status registers, and recognisable bits where the driver rmw's. */
function presets(boot0: number, mailbox: number = HW.NV_FALCON_MAILBOX_RESET_MAGIC): [number, number][] {
  const f = detectChip(boot0).falcon;
  return [
    [HW.NV_PMC_BOOT_0, boot0],
    [HW.NV_BOOT_COMPLETE_OFFSET, HW.NV_BOOT_COMPLETE_SUCCESS],
    [HW.NV_FSP_BOOT_COMPLETE_OFFSET, HW.NV_FSP_BOOT_COMPLETE_SUCCESS],
    [HW.NV_MEM_CLEAR_OFFSET, 0x1],
    [HW.NV_PMC_ENABLE, 0x40000101],
    [f.dmactl, 0x11],
    [f.fbifTranscfg, 0xf2],
    [f.fbifCtl, 0x3],
    [f.basePage + HW.NV_FALCON_CORE_SELECT_OFFSET, 0xff],
    [f.basePage + HW.NV_FALCON_MAILBOX_TEST_OFFSET, mailbox],
    [HW.NV_OFA_DMA_SUPPORT_CHECK_REG, 0x12345678],
  ];
}

/** The FSP's answer in the simulation: a successful NVDM response to command `type`. */
const simResponse = (type: number): number[] => [0xc0000000, 0x1510de7e, 0, type, 0];

/**
 * The simulation in TypeScript, access for access what SIM_C below does: plain registers, the DMA CMD register
 * reading back with its done bit set, and an FSP that answers every command through EMEM port 2.
 */
class SimBar implements Registers {
  readonly trace: string[] = [];
  tracing = true;
  cmd = -1;
  private readonly regs = new Map<number, number>();
  private readonly emem = new Uint32Array(1024);
  private ememPtr = 0;

  constructor(initial: [number, number][]) {
    for (const [off, value] of initial) this.regs.set(off, value >>> 0);
  }

  read32(off: number): number {
    let v: number;
    if (off === HW.NV_FSP_EMEM_PORT2_DATA) {
      v = this.emem[(this.ememPtr / 4) % 1024]!;
      this.ememPtr += 4;
    } else {
      v = this.regs.get(off) ?? 0;
      if (off === this.cmd) v |= HW.NV_FALCON_DMA_CMD_DONE_BIT;
    }
    if (this.tracing) this.trace.push(`r ${hex(off)}`);
    return v >>> 0;
  }

  write32(off: number, value: number): void {
    if (this.tracing) this.trace.push(`w ${hex(off)} ${hex(value)}`);
    if (off === HW.NV_FSP_EMEM_PORT2_CTRL) this.ememPtr = value & 0xffffff;
    else if (off === HW.NV_FSP_EMEM_PORT2_DATA) {
      this.emem[(this.ememPtr / 4) % 1024] = value;
      this.ememPtr += 4;
    } else this.regs.set(off, value >>> 0);
    if (off === HW.NV_FSP_QUEUE_HEAD) this.fspRespond();
  }

  private fspRespond(): void {
    const at = HW.NV_FSP_RPC_EMEM_BASE / 4;
    simResponse(this.emem[at + 1]! >>> 24).forEach((w, i) => (this.emem[at + i] = w));
    this.regs.set(HW.NV_FSP_MSG_QUEUE_HEAD, HW.NV_FSP_RPC_EMEM_BASE);
    this.regs.set(HW.NV_FSP_MSG_QUEUE_TAIL, HW.NV_FSP_RPC_EMEM_BASE + 16);
    this.regs.set(HW.NV_FSP_QUEUE_TAIL, this.regs.get(HW.NV_FSP_QUEUE_HEAD) ?? 0);
  }
}

// ---------------------------------------------------------------------------
// The C side: nv_falcon.c itself, with readl/writel into SIM_C.

const NUMERIC = Object.entries(HW).filter((e): e is [string, number] => typeof e[1] === 'number');
const FALCON_FIELDS: [keyof HW.FalconRegs, string][] = [
  ['basePage', 'base_page'],
  ['dmactl', 'dmactl'],
  ['engineReset', 'engine_reset'],
  ['fbifCtl', 'fbif_ctl'],
  ['fbifCtl2', 'fbif_ctl2'],
  ['fbifTranscfg', 'fbif_transcfg'],
  ['dmemControl', 'dmem_control_reg'],
  ['noOutsideReset', 'no_outside_reset'],
];

/** printf lines for every hw.ts constant and table, each as the C names it. */
function constsProgram(): string {
  const lines = NUMERIC.map(([name]) => `printf("const ${name} %u\\n", (unsigned)(${name}));`);
  for (const k of ARCHS) lines.push(`printf("arch ${k} %d\\n", (int)GPU_ARCH_${k});`);
  for (const k of Object.keys(HW.FALCON_TYPE)) lines.push(`printf("falcon-type ${k} %d\\n", (int)FALCON_TYPE_${k});`);
  for (const k of ARCHS) {
    const p = `gpu_properties_map[GPU_ARCH_${k}]`;
    const fields = `${p}.pmc_enable_mask, (int)${p}.memory_clear_supported, (int)${p}.falcon_type`;
    lines.push(`printf("props ${k} %u %d %d\\n", ${fields});`);
  }
  for (const k of Object.keys(HW.FALCON_TYPE)) {
    const f = `falcon_map[FALCON_TYPE_${k}]`;
    const formats = FALCON_FIELDS.map(() => ' %u').join('');
    const fields = FALCON_FIELDS.map(([, c]) => `(unsigned)${f}.${c}`).join(', ');
    lines.push(`printf("falcon ${k}${formats}\\n", ${fields});`);
  }
  lines.push(
    'printf("sizes %zu %zu %zu\\n", ARRAY_SIZE(gpu_properties_map), ARRAY_SIZE(falcon_map), VERIFIED_GPU_MAP_SIZE);',
    'for (size_t i = 0; i < VERIFIED_GPU_MAP_SIZE; i++) printf("verified %zu %u\\n", i, verified_gpu_map[i]);',
  );
  return lines.join('\n\t\t');
}

/** What constsProgram prints, from hw.ts. */
function constsOurs(): string[] {
  const out = NUMERIC.map(([name, v]) => `const ${name} ${v >>> 0}`);
  for (const k of ARCHS) out.push(`arch ${k} ${HW.GPU_ARCH[k]}`);
  for (const [k, v] of Object.entries(HW.FALCON_TYPE)) out.push(`falcon-type ${k} ${v}`);
  for (const k of ARCHS) {
    const p = HW.GPU_PROPERTIES[k];
    out.push(`props ${k} ${p.pmcEnableMask} ${Number(p.memoryClearSupported)} ${HW.FALCON_TYPE[p.falconType]}`);
  }
  for (const [k, f] of Object.entries(HW.FALCONS))
    out.push(`falcon ${k} ${FALCON_FIELDS.map(([ts]) => Number(f[ts])).join(' ')}`);
  out.push(`sizes ${ARCHS.length} ${Object.keys(HW.FALCONS).length} ${HW.VERIFIED_GPUS.length}`);
  HW.VERIFIED_GPUS.forEach(([v], i) => out.push(`verified ${i} ${v}`));
  return out;
}

const SIM_C = String.raw`
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>

/* readl/writel of nv_falcon.c go to the simulation instead of tools/include's asm/io.h. */
#define _TOOLS_IO_H
static uint32_t sim_read(uint32_t off);
static void sim_write(uint32_t off, uint32_t v);
static char sim_bar[16];
static inline uint32_t readl(const volatile void *a) { return sim_read((uint32_t)((uintptr_t)a - (uintptr_t)sim_bar)); }
static inline void writel(uint32_t v, volatile void *a) { sim_write((uint32_t)((uintptr_t)a - (uintptr_t)sim_bar), v); }

#include "nv_falcon.c"

#define MAX_REGS 1024
static uint32_t reg_off[MAX_REGS], reg_val[MAX_REGS];
static int nregs, tracing;
static uint32_t cmd_reg = 0xffffffff, emem[1024], emem_ptr;

static uint32_t *slot(uint32_t off)
{
	for (int i = 0; i < nregs; i++)
		if (reg_off[i] == off)
			return &reg_val[i];
	if (nregs == MAX_REGS)
		exit(2);
	reg_off[nregs] = off;
	reg_val[nregs] = 0;
	return &reg_val[nregs++];
}

static void fsp_respond(void)
{
	uint32_t at = NV_FSP_RPC_EMEM_BASE / 4, type = emem[at + 1] >> 24;
	emem[at] = 0xc0000000; emem[at + 1] = 0x1510de7e; emem[at + 2] = 0; emem[at + 3] = type; emem[at + 4] = 0;
	*slot(NV_FSP_MSG_QUEUE_HEAD) = NV_FSP_RPC_EMEM_BASE;
	*slot(NV_FSP_MSG_QUEUE_TAIL) = NV_FSP_RPC_EMEM_BASE + 16;
	*slot(NV_FSP_QUEUE_TAIL) = *slot(NV_FSP_QUEUE_HEAD);
}

static uint32_t sim_read(uint32_t off)
{
	uint32_t v;
	if (off == NV_FSP_EMEM_PORT2_DATA) {
		v = emem[(emem_ptr / 4) % 1024];
		emem_ptr += 4;
	} else {
		v = *slot(off);
		if (off == cmd_reg)
			v |= NV_FALCON_DMA_CMD_DONE_BIT;
	}
	if (tracing)
		printf("r 0x%x\n", off);
	return v;
}

static void sim_write(uint32_t off, uint32_t v)
{
	if (tracing)
		printf("w 0x%x 0x%x\n", off, v);
	if (off == NV_FSP_EMEM_PORT2_CTRL)
		emem_ptr = v & 0xffffff;
	else if (off == NV_FSP_EMEM_PORT2_DATA) {
		emem[(emem_ptr / 4) % 1024] = v;
		emem_ptr += 4;
	} else
		*slot(off) = v;
	if (off == NV_FSP_QUEUE_HEAD)
		fsp_respond();
}

/* Config space is not simulated: the command register reads 0. */
void vfio_pci_config_access(struct vfio_pci_device *device, bool write, size_t config, size_t size, void *data)
{
	(void)device; (void)config;
	if (!write)
		memset(data, 0, size);
}

int main(int argc, char **argv)
{
	static struct gpu_device gpu;
	static struct vfio_pci_device dev;
	uint64_t arg[4] = { 0 };
	int nargs = 0;

	for (int i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (eq) {
			*eq = 0;
			*slot(strtoul(argv[i], NULL, 0)) = strtoul(eq + 1, NULL, 0);
		} else if (nargs < 4) {
			arg[nargs++] = strtoull(argv[i], NULL, 0);
		}
	}
	if (!strcmp(argv[1], "consts")) {
		CONSTS
		return 0;
	}
	if (!strcmp(argv[1], "arch")) {
		for (uint32_t top = 0; top < 8; top++)
			for (uint32_t field = 0; field < 32; field++)
				for (uint32_t impl = 0; impl < 16; impl++) {
					uint32_t boot0 = top << 29 | field << 24 | impl << 20 | 0xa1;
					printf("0x%x %d\n", boot0, (int)nv_gpu_arch_lookup(boot0));
				}
		return 0;
	}
	if (!strcmp(argv[1], "encode")) {
		for (uint64_t size = 4; size <= 256; size <<= 1)
			printf("%u %u\n", (unsigned)size, size_to_dma_encoding(size));
		return 0;
	}
	if (!strcmp(argv[1], "packet")) {
		printf("0x%x 0x%x\n", mctp_header_build(0, 0, true, true), mctp_msg_header_build(NV_NVDM_TYPE_FBDMA));
		return 0;
	}
	dev.bdf = "sim";
	dev.bars[0].vaddr = sim_bar;
	dev.driver.region.vaddr = &gpu;
	dev.driver.region.size = sizeof(gpu);
	tracing = !strcmp(argv[1], "init");
	nv_falcon_init(&dev);
	cmd_reg = gpu.falcon->base_page + NV_FALCON_DMA_CMD_OFFSET;
	tracing = 1;
	if (!strcmp(argv[1], "reset"))
		return falcon_reset(&dev) ? 3 : 0;
	if (!strcmp(argv[1], "remove"))
		nv_falcon_remove(&dev);
	if (!strcmp(argv[1], "memcpy")) {
		nv_falcon_memcpy_start(&dev, arg[0], arg[1], arg[2], 1);
		return nv_falcon_memcpy_wait(&dev) ? 3 : 0;
	}
	return 0;
}
`;

interface Harness {
  run(args: string[]): Promise<{ lines: string[]; exitCode: number }>;
  name: string;
  hwH: string;
}

/** The compiled harness, once; a string saying what is missing when it cannot be built. */
const harness: Promise<Harness | string> = (async () => {
  const gcc = await execa('gcc', ['--version'], { reject: false });
  if (gcc.exitCode !== 0) return 'no gcc (install gcc, as lustress setup does)';
  const tree = selftestTree();
  if (!tree) return FETCH_HINT;
  const driverDir = join(tree.lib, 'drivers', 'nv_falcon');
  const dir = mkdtempSync(join(tmpdir(), 'lustress-nv-falcon-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'sim.c'), SIM_C.replace('CONSTS', constsProgram()));
  const include = [
    join(tree.lib, 'include'),
    driverDir,
    join(tree.source, 'tools/include'),
    join(tree.source, 'usr/include'),
  ];
  await execa('gcc', [
    '-Wall',
    '-Werror',
    ...include.flatMap((d) => ['-I', d]),
    '-o',
    join(dir, 'sim'),
    join(dir, 'sim.c'),
  ]);
  return {
    name: tree.name,
    hwH: readFileSync(join(driverDir, 'hw.h'), 'utf8'),
    async run(args: string[]) {
      const r = await execa(join(dir, 'sim'), args, { reject: false });
      return { lines: r.stdout.split('\n').filter(Boolean), exitCode: r.exitCode ?? -1 };
    },
  };
})();

/** The harness for a test that needs the C driver, or undefined after skipping (failing in CI) with the reason. */
async function cDriver(t: Test): Promise<Harness | undefined> {
  const h = await harness;
  if (typeof h === 'string') return void prerequisiteMissing(t, h);
  return h;
}

const presetArgs = (p: [number, number][]): string[] => p.map(([off, v]) => `${hex(off)}=${hex(v)}`);

// ---------------------------------------------------------------------------
// Against the kernel's driver.

t.test('hw.ts equals hw.h: every constant, both enums, gpu_properties_map, falcon_map, verified_gpu_map', async (t) => {
  const h = await cDriver(t);
  if (!h) return;
  const { lines, exitCode } = await h.run(['consts']);
  t.equal(exitCode, 0);
  t.same(constsOurs(), lines, `${NUMERIC.length} constants and the tables equal ${h.name}'s hw.h`);
  for (const [value, name] of HW.VERIFIED_GPUS) {
    const entry = new RegExp(`0x${value.toString(16).padStart(8, '0')},\\s*/\\*\\s*${name}\\s*\\*/`);
    t.match(h.hwH, entry, `hw.h names 0x${value.toString(16)} ${name}`);
  }
});

t.test('chip detection equals nv_gpu_arch_lookup on every architecture and implementation field', async (t) => {
  const h = await cDriver(t);
  if (!h) return;
  const { lines } = await h.run(['arch']);
  t.equal(lines.length, 8 * 32 * 16);
  const differ = lines.filter((line) => {
    const [boot0, c] = line.split(' ');
    const arch = archOf(Number(boot0));
    return (arch === undefined ? -1 : HW.GPU_ARCH[arch]) !== Number(c);
  });
  t.same(differ, [], 'no PMC_BOOT_0 on which they differ');
});

t.test('the CMD size codes and the FBDMA packet headers equal the C functions', async (t) => {
  const h = await cDriver(t);
  if (!h) return;
  const encode = (await h.run(['encode'])).lines;
  t.same(
    encode,
    [4, 8, 16, 32, 64, 128, 256].map((s) => `${s} ${sizeCode(s)}`),
    'size_to_dma_encoding',
  );
  const [header, message] = (await h.run(['packet'])).lines[0]!.split(' ');
  t.same(fbdmaEnablePacket(), [Number(header), Number(message), HW.NV_FBDMA_SUBCMD_ENABLE], 'the FBDMA enable packet');
});

/** Our bring-up against the simulation: its trace, and the chip. */
async function ourBringUp(initial: [number, number][]): Promise<{ sim: SimBar; chip: Chip }> {
  const sim = new SimBar(initial);
  const chip = await bringUp(sim);
  sim.cmd = chip.falcon.basePage + HW.NV_FALCON_DMA_CMD_OFFSET;
  return { sim, chip };
}

t.test('bring-up makes the C driver’s register accesses, generation by generation', async (t) => {
  const h = await cDriver(t);
  if (!h) return;
  const cases: [string, number, number][] = ARCHS.map((a) => [a, SAMPLES[a], HW.NV_FALCON_MAILBOX_RESET_MAGIC]);
  cases.push(['ADA, mailbox without the reset magic', SAMPLES.ADA, 0]);
  for (const [what, boot0, mailbox] of cases) {
    const initial = presets(boot0, mailbox);
    const c = await h.run(['init', ...presetArgs(initial)]);
    t.equal(c.exitCode, 0, `${what}: the C driver's init succeeds in the simulation`);
    const { sim } = await ourBringUp(initial);
    t.same(sim.trace, c.lines, `${what} (${hex(boot0)}): ${c.lines.length} accesses, the same`);
  }
});

t.test('falcon reset and remove make the C driver’s register accesses', async (t) => {
  const h = await cDriver(t);
  if (!h) return;
  for (const arch of ARCHS) {
    const initial = presets(SAMPLES[arch]);
    for (const [cmd, ours] of [
      ['reset', (chip: Chip) => [...disableSteps(chip), ...enableSteps(chip)]],
      ['remove', disableSteps],
    ] as const) {
      const c = await h.run([cmd, ...presetArgs(initial)]);
      const { sim, chip } = await ourBringUp(initial);
      sim.trace.length = 0;
      if (cmd === 'remove') await shutDown(sim, chip);
      else await runSteps(sim, ours(chip));
      t.same(sim.trace, c.lines, `${arch} ${cmd}: the same ${c.lines.length} accesses`);
    }
    const chip = detectChip(SAMPLES[arch]);
    t.same(resetSteps(chip), [...disableSteps(chip), ...enableSteps(chip), ...programSteps(chip)]);
    t.same(
      initSteps(chip).slice(-programSteps(chip).length),
      programSteps(chip),
      `${arch}: recovery reprograms as init`,
    );
  }
});

/** Copies the C driver is given (it takes count 1), misaligned ones and ones above 2^47 among them. */
const COPIES: [bigint, bigint, number][] = [
  [0x1000n, 0x2000n, 256],
  [0x10000n, 0x30000n, 4096],
  [0x1004n, 0x2008n, 100],
  [0x10fcn, 0x20f0n, 12],
  [0x1_0000_0040n, 0x2_0000_0080n, 1000],
  [0xfedc_ba98_7654_3200n, 0x0123_4567_89ab_cd00n, 512],
  [0x7f_ffff_ff00n, 0x80_0000_0000n - 4n, 64],
];

t.test("a copy's transfers make the C driver's register accesses (planning, address split, CMD words)", async (t) => {
  const h = await cDriver(t);
  if (!h) return;
  for (const arch of ['KEPLER', 'AMPERE', 'ADA', 'HOPPER'] as const) {
    const initial = presets(SAMPLES[arch]);
    for (const [src, dst, size] of COPIES) {
      const c = await h.run([
        'memcpy',
        `0x${src.toString(16)}`,
        `0x${dst.toString(16)}`,
        String(size),
        ...presetArgs(initial),
      ]);
      t.equal(c.exitCode, 0);
      const { sim, chip } = await ourBringUp(initial);
      sim.trace.length = 0;
      const seq = new DmaSequence(sim, chip.falcon, planBatch(src, dst, size, 1));
      seq.start();
      const outcome = await seq.run(Date.now() + 10_000, () => false);
      t.same(outcome, { done: seq.plan.total, total: seq.plan.total, stopped: false });
      t.same(sim.trace, c.lines, `${arch} 0x${src.toString(16)} -> 0x${dst.toString(16)} +${size}: the same accesses`);
    }
  }
});

t.test('what the planner refuses is what the C driver asserts on', async (t) => {
  const h = await cDriver(t);
  if (!h) return;
  const initial = presetArgs(presets(SAMPLES.AMPERE));
  for (const [src, dst, size] of [
    [0x1001n, 0x2000n, 4],
    [0x1000n, 0x2002n, 8],
    [0x1000n, 0x2000n, 6],
    [0x1000n, 0x2000n, 258],
  ] as const) {
    const c = await h.run(['memcpy', `0x${src.toString(16)}`, `0x${dst.toString(16)}`, String(size), ...initial]);
    t.not(c.exitCode, 0, `C asserts on 0x${src.toString(16)} -> 0x${dst.toString(16)} +${size}`);
    t.throws(() => planCopy(src, dst, size), RangeError, 'and planCopy refuses it');
  }
});

// ---------------------------------------------------------------------------
// The pure parts.

t.test('chip detection: architecture, falcon and register set per generation; unknown ones refused', async (t) => {
  const expect: Record<HW.GpuArch, [HW.FalconType, string]> = {
    KEPLER: ['PMU_LEGACY', 'K80'],
    MAXWELL_GEN1: ['PMU_LEGACY', 'GTX750'],
    MAXWELL_GEN2: ['PMU', 'M60'],
    PASCAL: ['PMU', 'P100'],
    PASCAL_10X: ['PMU', 'P4'],
    VOLTA: ['GSP', 'V100'],
    TURING: ['GSP', 'T4'],
    AMPERE: ['GSP', 'A100'],
    ADA: ['PMU', 'L4'],
    HOPPER: ['OFA', 'H100'],
  };
  for (const arch of ARCHS) {
    const chip = detectChip(SAMPLES[arch]);
    t.equal(chip.arch, arch);
    t.same([chip.falconType, chip.verifiedAs], expect[arch], `${arch}: ${expect[arch].join(', ')}`);
    t.equal(chip.fsp, arch === 'HOPPER', `${arch}: FSP handshake only on Hopper`);
  }
  const kepler = detectChip(SAMPLES.KEPLER);
  t.equal(kepler.falcon.fbifTranscfg, 0x10a600, 'Kepler: legacy FBIF offsets on the PMU');
  t.equal(kepler.props.pmcEnableMask, HW.NV_PMC_ENABLE_PWR | HW.NV_PMC_ENABLE_HUB, 'Kepler: PMC_ENABLE with HUB');
  t.equal(detectChip(SAMPLES.PASCAL).falcon.fbifTranscfg, 0x10ae00, 'Pascal: the PMU with the newer FBIF offsets');
  t.equal(detectChip(SAMPLES.AMPERE).falcon.basePage, 0x110000, 'Ampere: the GSP');
  t.equal(detectChip(0x170000a1 | 0xe0000000).arch, 'AMPERE', 'bits 31:29 do not matter');
  t.equal(detectChip(0x172000a1).verifiedAs, undefined, 'a chip outside the verified list is still driven');
  t.equal(archOf(0x131000a1), 'PASCAL_10X', 'Pascal other than implementation 0 is GP10x');
  const hopper = detectChip(SAMPLES.HOPPER);
  t.ok(hopper.falcon.noOutsideReset, 'Hopper: the OFA falcon is not reset from outside');
  t.same(disableSteps(hopper), []);
  t.ok(initSteps(hopper).some((s) => s.kind === 'poll' && s.offset === HW.NV_FSP_BOOT_COMPLETE_OFFSET));
  t.notOk(initSteps(detectChip(SAMPLES.VOLTA)).some((s) => s.kind === 'poll' && s.offset === HW.NV_MEM_CLEAR_OFFSET));
  for (const [boot0, field] of [
    [0x1b2000a1, '0x1b'],
    [0x0c0000a1, '0xc'],
    [0x150000a1, '0x15'],
  ] as const) {
    t.throws(() => detectChip(boot0), Unsupported);
    t.throws(
      () => detectChip(boot0),
      { message: new RegExp(`architecture ${field} is not supported by nv_falcon.*Kepler 0xe/0xf/0x10.*Ada 0x19`) },
      `${hex(boot0)} refused, saying what is known`,
    );
  }
  t.throws(() => detectChip(0xffffffff), { message: /does not answer on BAR0/ }, 'all ones: the GPU is not there');
});

t.test('planning: chunks as the C driver decomposes, transfer pairs, CMD words', async (t) => {
  t.same(
    planCopy(0x1000n, 0x2000n, 1024),
    [0, 256, 512, 768].map((offset) => ({ offset, size: 256 })),
    'aligned: ceil(N/256) chunks of 256',
  );
  t.same(planCopy(0x1000n, 0x2000n, 12), [
    { offset: 0, size: 8 },
    { offset: 8, size: 4 },
  ]);
  t.same(
    planCopy(0x10f0n, 0x2000n, 32),
    [
      { offset: 0, size: 16 },
      { offset: 16, size: 16 },
    ],
    'no chunk crosses a 256-byte block on either side',
  );
  for (const [src, dst, size] of [...COPIES, [0x1004n, 0x2000n, 4096] as [bigint, bigint, number]]) {
    const chunks = planCopy(src, dst, size);
    let next = 0;
    const bad = chunks.filter((c) => {
      const ok =
        c.offset === next &&
        c.size >= 4 &&
        c.size <= 256 &&
        (c.size & (c.size - 1)) === 0 &&
        (src + BigInt(c.offset)) % BigInt(c.size) === 0n &&
        (dst + BigInt(c.offset)) % BigInt(c.size) === 0n;
      next += c.size;
      return !ok;
    });
    t.same(bad, [], `0x${src.toString(16)} -> 0x${dst.toString(16)} +${size}: ${chunks.length} valid chunks`);
    t.equal(next, size);
  }
  t.equal(planCopy(0x1004n, 0x2000n, 4096).length, 1024, 'offsets differing by 4 in a block: 4-byte chunks');
  t.throws(() => planCopy(0x1002n, 0x2000n, 8), { message: /src 0x1002 is not 4-byte aligned/ });
  t.throws(() => planCopy(0x1000n, 0x2001n, 8), { message: /dst 0x2001 is not 4-byte aligned/ });
  t.throws(() => planCopy(0x1000n, 0x2000n, 7), { message: /size 7 is not a positive multiple of 4/ });

  const plan = planBatch(0x1000n, 0x8000n, 512, 3);
  t.equal(plan.total, 3 * 2 * 2, '3 copies of 2 chunks, a read and a write each');
  const seen = Array.from({ length: plan.total }, (_, i) => transferAt(plan, i));
  t.same(
    seen.slice(0, 4).map((x) => [x.copy, x.chunk, x.write, x.address, x.size, x.dmem]),
    [
      [0, 0, false, 0x1000n, 256, 0],
      [0, 0, true, 0x8000n, 256, 0],
      [0, 1, false, 0x1100n, 256, 0],
      [0, 1, true, 0x8100n, 256, 0],
    ],
    'read into DMEM 0, write from DMEM 0, chunk after chunk',
  );
  t.same(seen[4], { ...seen[0], copy: 1 }, 'each copy repeats the same transfers');

  t.equal(dmaCommand(4, false), 0x000);
  t.equal(dmaCommand(256, false), 0x600, 'size code 6 at bit 8');
  t.equal(dmaCommand(256, true), 0x620, 'the write bit');
  t.equal(dmaCommand(64, true), 0x420);
  for (const size of [0, 2, 12, 512]) t.throws(() => sizeCode(size), RangeError, `size ${size} refused`);

  const gsp = HW.FALCONS.GSP;
  t.same(
    transferWrites(gsp, { write: true, address: 0xfedc_ba98_7654_3210n, size: 16, dmem: 0 }),
    [
      [0x100f04, 0x1fdb9],
      [0x110128, 0x3a],
      [0x110110, 0x98765432],
      [0x11011c, 0x10],
      [0x110114, 0],
      [0x110118, 0x220],
    ],
    'address bits 63:47, 46:40, 39:8, 7:0, DMEM offset, then CMD',
  );
});

t.test('FSP response checks name what is wrong', async (t) => {
  const ok = simResponse(HW.NV_NVDM_TYPE_FBDMA);
  t.equal(responseProblem(ok, HW.NV_NVDM_TYPE_FBDMA), undefined);
  t.match(responseProblem(ok.slice(0, 4), HW.NV_NVDM_TYPE_FBDMA)?.message, /^fsp-protocol: a response of 4 words/);
  t.match(responseProblem([ok[0]!, 0x2210de7e, 0, 0x22, 0], 0x22)?.message, /^fsp-protocol: a reply of NVDM type 0x22/);
  t.match(responseProblem(simResponse(0x23), 0x22)?.message, /^fsp-protocol: a response to command 0x23/);
  t.match(responseProblem([...ok.slice(0, 4), 5], 0x22)?.message, /^fsp-status: .* status 0x5/);
});

// ---------------------------------------------------------------------------
// The asynchronous sequence against a fake engine.

interface FakeOptions {
  /** CMD reads that still show busy after each transfer starts. */
  latency?: number;
  /** From transfer `at` on, CMD reads `value` (a hung engine if undefined). */
  fault?: { at: number; value?: number };
}

/** A falcon's DMA engine as a plain read32/write32 object: the done bit after `latency` reads, bytes really moved. */
class FakeEngine implements Registers {
  readonly memory = Buffer.alloc(0x40000);
  readonly dmem = Buffer.alloc(256);
  readonly problems: string[] = [];
  transfers = 0;
  private busy = 0;
  private readonly regs = new Map<number, number>();

  constructor(
    private readonly falcon: HW.FalconRegs,
    private readonly options: FakeOptions = {},
  ) {}

  read32(off: number): number {
    const v = this.regs.get(off) ?? 0;
    if (off !== this.falcon.basePage + HW.NV_FALCON_DMA_CMD_OFFSET) return v;
    const fault = this.options.fault;
    if (fault && this.transfers > fault.at) return fault.value ?? v;
    if (this.busy > 0) {
      this.busy--;
      return v;
    }
    return v | HW.NV_FALCON_DMA_CMD_DONE_BIT;
  }

  write32(off: number, value: number): void {
    this.regs.set(off, value);
    if (off === this.falcon.basePage + HW.NV_FALCON_DMA_CMD_OFFSET) this.run(value);
  }

  /** Checks and performs the transfer the CMD write starts. */
  private run(cmd: number): void {
    const get = (reg: number) => BigInt(this.regs.get(reg) ?? 0);
    const base = this.falcon.basePage;
    if (this.busy > 0) this.problems.push(`transfer ${this.transfers} started while one was running`);
    const address = Number(
      (get(HW.NV_GPU_DMA_ADDR_TOP_BITS_REG) << 47n) |
        (get(base + HW.NV_FALCON_DMA_ADDR_HIGH_OFFSET) << 40n) |
        (get(base + HW.NV_FALCON_DMA_ADDR_LOW_OFFSET) << 8n) |
        get(base + HW.NV_FALCON_DMA_BLOCK_OFFSET),
    );
    const size = 4 << ((cmd >>> HW.NV_FALCON_DMA_CMD_SIZE_SHIFT) & 0x7);
    const dmem = Number(get(base + HW.NV_FALCON_DMA_MEM_OFFSET));
    if (address % size || Math.floor(address / 256) !== Math.floor((address + size - 1) / 256) || dmem + size > 256)
      this.problems.push(`transfer ${this.transfers}: ${size} bytes at 0x${address.toString(16)} / DMEM ${dmem}`);
    if (cmd & HW.NV_FALCON_DMA_CMD_WRITE_BIT) this.dmem.copy(this.memory, address, dmem, dmem + size);
    else this.memory.copy(this.dmem, dmem, address, address + size);
    this.transfers++;
    this.busy = this.options.latency ?? 0;
  }
}

const GSP = HW.FALCONS.GSP;

/** A batch on a fake engine, started and run to its end. */
async function runBatch(
  fake: FakeEngine,
  src: number,
  dst: number,
  size: number,
  count: number,
  opts: { deadlineMs?: number; stopping?: () => boolean; timeoutMs?: number } = {},
): Promise<Outcome> {
  const seq = new DmaSequence(fake, GSP, planBatch(BigInt(src), BigInt(dst), size, count), opts.timeoutMs);
  seq.start();
  return seq.run(Date.now() + (opts.deadlineMs ?? 60_000), opts.stopping ?? (() => false));
}

t.test('the sequence moves every byte, one transfer at a time, whatever the engine latency', async (t) => {
  for (const [src, dst, size, count, latency] of [
    [0x1000, 0x20000, 4096, 3, 0],
    [0x1004, 0x20108, 1000, 2, 3],
    [0x10fc, 0x2fff0, 4, 5, 1],
  ] as const) {
    const fake = new FakeEngine(GSP, { latency });
    for (let i = 0; i < size; i++) fake.memory[src + i] = (i * 7 + 3) & 0xff;
    const outcome = await runBatch(fake, src, dst, size, count);
    const total = planBatch(BigInt(src), BigInt(dst), size, count).total;
    t.same(outcome, { done: total, total, stopped: false }, `${count} × ${size} bytes, latency ${latency}: done`);
    t.equal(fake.transfers, total, 'every transfer issued once');
    t.same(fake.problems, [], 'none started while another ran; each aligned, within a block and within DMEM');
    t.ok(fake.memory.subarray(dst, dst + size).equals(fake.memory.subarray(src, src + size)), 'dst equals src');
  }
});

t.test('the sequence yields to the event loop while it runs', async (t) => {
  const fake = new FakeEngine(GSP);
  let turns = 0;
  let spinning = true;
  const spin = (): void => {
    turns++;
    if (spinning) setImmediate(spin);
  };
  setImmediate(spin);
  const started = performance.now();
  const outcome = await runBatch(fake, 0x1000, 0x20000, 64 * 1024, 2);
  spinning = false;
  const ms = performance.now() - started;
  t.equal(outcome.done, outcome.total);
  t.ok(turns >= Math.floor(ms / 4), `other callbacks ran ${turns} times during ${ms.toFixed(0)} ms of copying`);
});

t.test('failures are reported by name, with the transfer that failed', async (t) => {
  const hung = await runBatch(new FakeEngine(GSP, { fault: { at: 3 } }), 0x1000, 0x20000, 1024, 1, { timeoutMs: 30 });
  t.equal(hung.failure?.kind, 'dma-timeout');
  t.equal(hung.done, 3);
  t.match(hung.failure?.message, /^DMA write of copy 0 chunk 1 \(DMEM 0x0 -> 0x20100\+256\): not done after 30 ms/);

  const dead = await runBatch(new FakeEngine(GSP, { fault: { at: 5, value: 0xffffffff } }), 0x1000, 0x20000, 4096, 1);
  t.equal(dead.failure?.kind, 'bus-error', 'all ones is not taken for the done bit');
  t.equal(dead.done, 5);

  const pri = await runBatch(new FakeEngine(GSP, { fault: { at: 0, value: 0xbadf1100 } }), 0x1000, 0x20000, 256, 1);
  t.equal(pri.failure?.kind, 'pri-error');
  t.match(pri.failure?.message, /CMD reads 0xbadf1100/);
});

t.test('at the deadline or when stopped, the transfer in flight finishes and no other starts', async (t) => {
  const slow = new FakeEngine(GSP, { latency: 2000 });
  const late = await runBatch(slow, 0x1000, 0x20000, 64 * 1024, 4, { deadlineMs: 20 });
  t.equal(late.failure?.kind, 'deadline');
  t.ok(late.done > 0 && late.done < late.total, `${late.done} of ${late.total} transfers done`);
  t.equal(slow.transfers, late.done, 'the last one started also finished');
  t.equal(slow.read32(GSP.basePage + HW.NV_FALCON_DMA_CMD_OFFSET) & HW.NV_FALCON_DMA_CMD_DONE_BIT, 2, 'engine idle');

  const fake = new FakeEngine(GSP, { latency: 2 });
  const stopped = await runBatch(fake, 0x1000, 0x20000, 4096, 4, { stopping: () => fake.transfers >= 10 });
  t.same(stopped, { done: 10, total: 4 * 16 * 2, stopped: true }, 'stopped after the tenth, without a failure');
  t.equal(fake.transfers, 10);
});

t.test('the ops table: nv_falcon, 4-byte multiples, no MSI', async (t) => {
  const ops = new NvFalconOps();
  t.equal(ops.name, 'nv_falcon');
  t.notOk('sendMsi' in ops, 'no sendMsi: send-msi and expect-msi are skipped on it');
  t.notOk('dmaAddressBits' in ops, 'no DMA mask: addresses are written whole (bits 63:0)');
  t.same(await ops.memcpyWait(Date.now()), { errors: [] }, 'nothing started: nothing to wait for');
});
