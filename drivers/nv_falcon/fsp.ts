// Hopper's FSP (the GPU's security processor) must allow DMA before the
// OFA falcon may do any: one NVDM command (FBDMA, subcommand enable) sent
// as a single MCTP packet through RPC channel 2 in the FSP's EMEM, and its
// response read back the same way. Register accesses in the order of the
// kernel's nv_falcon.c (fsp_init, fsp_rpc_send_cmd, fsp_check_ofa_dma_support).

import { Unsupported } from '../../sys/errors.js';
import {
  NV_FALCON_C,
  NV_FALCON_EMEMC_AINCR,
  NV_FALCON_EMEMC_AINCW,
  NV_FBDMA_SUBCMD_ENABLE,
  NV_FSP_BOOT_COMPLETE_OFFSET,
  NV_FSP_BOOT_COMPLETE_SUCCESS,
  NV_FSP_EMEM_PORT2_CTRL,
  NV_FSP_EMEM_PORT2_DATA,
  NV_FSP_MSG_QUEUE_HEAD,
  NV_FSP_MSG_QUEUE_TAIL,
  NV_FSP_QUEUE_HEAD,
  NV_FSP_QUEUE_TAIL,
  NV_FSP_RPC_EMEM_BASE,
  NV_FSP_RPC_MIN_RESPONSE_WORDS,
  NV_MCTP_HDR_EOM_BIT,
  NV_MCTP_HDR_SOM_BIT,
  NV_MCTP_MSG_NVDM_TYPE_MASK,
  NV_MCTP_MSG_NVDM_TYPE_SHIFT,
  NV_MCTP_MSG_TYPE_MASK,
  NV_MCTP_MSG_TYPE_SHIFT,
  NV_MCTP_MSG_TYPE_VENDOR_DEFINED,
  NV_MCTP_MSG_VENDOR_ID_MASK,
  NV_MCTP_MSG_VENDOR_ID_NVIDIA,
  NV_MCTP_MSG_VENDOR_ID_SHIFT,
  NV_NVDM_TYPE_FBDMA,
  NV_NVDM_TYPE_RESPONSE,
  NV_OFA_DMA_SUPPORT_CHECK_REG,
} from './hw.js';
import { hex, NvFalconError, pollRegister, waitUntil, type Registers } from './io.js';

/** The MCTP transport header of a message that is one packet (start and end of message; endpoint 0, sequence 0). */
export const MCTP_SINGLE_PACKET = (NV_MCTP_HDR_SOM_BIT | NV_MCTP_HDR_EOM_BIT) >>> 0;

/** The MCTP message header of an NVIDIA vendor-defined message carrying NVDM type `nvdmType`. */
export function mctpMessageHeader(nvdmType: number): number {
  return (
    (((NV_MCTP_MSG_TYPE_VENDOR_DEFINED & NV_MCTP_MSG_TYPE_MASK) << NV_MCTP_MSG_TYPE_SHIFT) |
      ((NV_MCTP_MSG_VENDOR_ID_NVIDIA & NV_MCTP_MSG_VENDOR_ID_MASK) << NV_MCTP_MSG_VENDOR_ID_SHIFT) |
      ((nvdmType & NV_MCTP_MSG_NVDM_TYPE_MASK) << NV_MCTP_MSG_NVDM_TYPE_SHIFT)) >>>
    0
  );
}

/** The packet that asks the FSP to enable FBDMA. */
export function fbdmaEnablePacket(): number[] {
  return [MCTP_SINGLE_PACKET, mctpMessageHeader(NV_NVDM_TYPE_FBDMA), NV_FBDMA_SUBCMD_ENABLE];
}

/** What is wrong with the FSP's response to command `nvdmType`, by name, or undefined if it accepted it. */
export function responseProblem(words: readonly number[], nvdmType: number): NvFalconError | undefined {
  if (words.length < NV_FSP_RPC_MIN_RESPONSE_WORDS)
    return new NvFalconError(
      'fsp-protocol',
      `a response of ${words.length} words, fewer than ${NV_FSP_RPC_MIN_RESPONSE_WORDS}`,
    );
  const type = (words[1]! >>> NV_MCTP_MSG_NVDM_TYPE_SHIFT) & NV_MCTP_MSG_NVDM_TYPE_MASK;
  if (type !== NV_NVDM_TYPE_RESPONSE)
    return new NvFalconError('fsp-protocol', `a reply of NVDM type ${hex(type)}, not a response`);
  if (words[3]! >>> 0 !== nvdmType)
    return new NvFalconError('fsp-protocol', `a response to command ${hex(words[3]!)}, not ${hex(nvdmType)}`);
  if (words[4]! >>> 0 !== 0)
    return new NvFalconError('fsp-status', `the FSP refused command ${hex(nvdmType)} with status ${hex(words[4]!)}`);
  return undefined;
}

/** Waits until a queue is empty (head = tail) or holds something (head != tail). */
async function pollQueue(
  regs: Registers,
  what: string,
  headReg: number,
  tailReg: number,
  waitEmpty: boolean,
  timeoutMs: number,
): Promise<void> {
  let head = 0;
  let tail = 0;
  await waitUntil(
    what,
    timeoutMs,
    () => {
      head = regs.read32(headReg);
      tail = regs.read32(tailReg);
      return waitEmpty ? head === tail : head !== tail;
    },
    () => `queue head ${hex(head)}, tail ${hex(tail)}`,
  );
}

/** Points EMEM port 2 at `offset`, auto-incrementing on reads and writes. */
function ememPort(regs: Registers, offset: number): void {
  regs.write32(NV_FSP_EMEM_PORT2_CTRL, (offset | NV_FALCON_EMEMC_AINCR | NV_FALCON_EMEMC_AINCW) >>> 0);
}

/** Leaves the RPC channel idle: a message left from an earlier user is waited for (briefly), then all queues reset. */
async function resetRpcState(regs: Registers): Promise<void> {
  if (regs.read32(NV_FSP_QUEUE_HEAD) === regs.read32(NV_FSP_QUEUE_TAIL)) {
    if (regs.read32(NV_FSP_MSG_QUEUE_HEAD) === regs.read32(NV_FSP_MSG_QUEUE_TAIL)) return;
  }
  // Best effort, as in the kernel's driver: no message may be coming.
  await pollQueue(
    regs,
    'FSP message queue drain',
    NV_FSP_MSG_QUEUE_HEAD,
    NV_FSP_MSG_QUEUE_TAIL,
    false,
    NV_FALCON_C.FSP_DRAIN_TIMEOUT_MS,
  ).catch(() => undefined);
  regs.write32(NV_FSP_QUEUE_TAIL, NV_FSP_RPC_EMEM_BASE);
  regs.write32(NV_FSP_QUEUE_HEAD, NV_FSP_RPC_EMEM_BASE);
  regs.write32(NV_FSP_MSG_QUEUE_TAIL, NV_FSP_RPC_EMEM_BASE);
  regs.write32(NV_FSP_MSG_QUEUE_HEAD, NV_FSP_RPC_EMEM_BASE);
}

/** Sends one packet: into EMEM, then the queue pointers say where it is. */
async function sendPacket(regs: Registers, words: readonly number[]): Promise<void> {
  await pollQueue(
    regs,
    'FSP command queue empty',
    NV_FSP_QUEUE_HEAD,
    NV_FSP_QUEUE_TAIL,
    true,
    NV_FALCON_C.FSP_QUEUE_EMPTY_TIMEOUT_MS,
  );
  ememPort(regs, NV_FSP_RPC_EMEM_BASE);
  for (const w of words) regs.write32(NV_FSP_EMEM_PORT2_DATA, w);
  regs.write32(NV_FSP_QUEUE_TAIL, NV_FSP_RPC_EMEM_BASE + (words.length - 1) * 4);
  regs.write32(NV_FSP_QUEUE_HEAD, NV_FSP_RPC_EMEM_BASE);
}

/** Waits for the FSP's reply, reads it out of EMEM and acknowledges it. */
async function receivePacket(regs: Registers): Promise<number[]> {
  await pollQueue(
    regs,
    'FSP response',
    NV_FSP_MSG_QUEUE_HEAD,
    NV_FSP_MSG_QUEUE_TAIL,
    false,
    NV_FALCON_C.FSP_RESPONSE_TIMEOUT_MS,
  );
  const head = regs.read32(NV_FSP_MSG_QUEUE_HEAD);
  const tail = regs.read32(NV_FSP_MSG_QUEUE_TAIL);
  const words = Math.min(Math.floor(((tail - head + 4) >>> 0) / 4), NV_FALCON_C.FSP_RESPONSE_MAX_WORDS);
  ememPort(regs, NV_FSP_RPC_EMEM_BASE);
  const reply = Array.from({ length: words }, () => regs.read32(NV_FSP_EMEM_PORT2_DATA));
  regs.write32(NV_FSP_MSG_QUEUE_TAIL, head);
  return reply;
}

/**
 * fsp_init + fsp_fbdma_enable + fsp_check_ofa_dma_support: the FSP booted, its channel idle, FBDMA enabled, and the
 * OFA falcon able to do DMA with this firmware.
 */
export async function enableFbdma(regs: Registers): Promise<void> {
  await pollRegister(
    regs,
    'FSP boot complete',
    NV_FSP_BOOT_COMPLETE_OFFSET,
    0xffffffff,
    NV_FSP_BOOT_COMPLETE_SUCCESS,
    NV_FALCON_C.FSP_BOOT_TIMEOUT_MS,
  );
  await resetRpcState(regs);
  await sendPacket(regs, fbdmaEnablePacket());
  const problem = responseProblem(await receivePacket(regs), NV_NVDM_TYPE_FBDMA);
  if (problem) throw problem;
  const check = regs.read32(NV_OFA_DMA_SUPPORT_CHECK_REG) >>> 0;
  if (check >>> 16 === NV_FALCON_C.OFA_UNSUPPORTED_TAG) {
    const register = hex(NV_OFA_DMA_SUPPORT_CHECK_REG);
    throw new Unsupported(`the OFA falcon cannot do DMA with this GPU's firmware (${register} reads ${hex(check)})`, {
      register,
      value: hex(check),
    });
  }
}
