// How many QEMU guests of a run may run at once on this machine: one per
// core (TCG keeps a core busy per guest) and as many as memory holds with
// room to spare. Targets past the limit wait their turn; ssh and local
// targets cost this machine nothing and are not counted.

import { availableParallelism, freemem } from 'node:os';

/** Memory left for the host (and the orchestrator) while guests run. */
const HOST_RESERVE_BYTES = 2 * 2 ** 30;

export function guestSlots(guestMemoryBytes: number): number {
  const byMemory = Math.floor((freemem() - HOST_RESERVE_BYTES) / Math.max(guestMemoryBytes, 1));
  return Math.max(1, Math.min(availableParallelism(), byMemory));
}

/** Runs at most `slots` of the tasks at once, in order; results in the tasks' order. */
export async function limited<T>(slots: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(slots, tasks.length) }, worker));
  return results;
}
