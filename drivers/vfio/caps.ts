// VFIO's capability chains: a run of headers { u16 id; u16 version; u32 next }
// inside an info buffer, each `next` an offset from the buffer's start, 0
// ending the chain. Used by region info and by the type1 IOMMU info.

import { STRUCTS } from '../../sys/uapi.js';

export interface CapHeader {
  id: number;
  version: number;
  /** Where the capability starts in the info buffer. */
  offset: number;
}

const HEADER = STRUCTS.vfio_info_cap_header;

/**
 * The capabilities of an info buffer, in chain order. `first` is the info's
 * cap_offset; `infoSize` the fixed part, which no capability may overlap.
 * A chain that points outside the buffer or loops is an error, not a hang.
 */
export function capabilityChain(buf: Buffer, first: number, infoSize: number): CapHeader[] {
  const caps: CapHeader[] = [];
  const seen = new Set<number>();
  for (let offset = first; offset !== 0;) {
    if (offset < infoSize || offset + HEADER.size > buf.length) {
      throw new Error(
        `capability at offset ${offset} lies outside the ${buf.length}-byte info (fixed part ${infoSize} bytes)`,
      );
    }
    if (seen.has(offset)) throw new Error(`capability chain loops back to offset ${offset}`);
    seen.add(offset);
    const h = HEADER.read(buf, offset);
    caps.push({ id: h.id, version: h.version, offset });
    offset = h.next;
  }
  return caps;
}
