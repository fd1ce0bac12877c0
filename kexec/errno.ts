// errno numbers as names ("ENOENT"), for error messages people can search.

import { constants } from 'node:os';

/** Linux errnos Node's table leaves out but kexec and LUO return. */
const LINUX_EXTRA: Record<string, number> = { EKEYREJECTED: 129, EKEYEXPIRED: 127, EKEYREVOKED: 128, ENOKEY: 126 };

const NAMES = new Map<number, string>();
for (const [name, num] of Object.entries({ ...constants.errno, ...LINUX_EXTRA })) if (!NAMES.has(num)) NAMES.set(num, name);

/** Accepts errno as the kernel returns it (negative) or as libc sets it (positive). */
export function errname(errno: number): string {
  return NAMES.get(Math.abs(errno)) ?? `errno ${Math.abs(errno)}`;
}
