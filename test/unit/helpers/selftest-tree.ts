// The Linux 7.3 tree whose VFIO selftest drivers are the source of facts
// for drivers written from them, as `lustress setup --for-tests` prepares
// it. Found, never fetched here: fetching is minutes of download and unpacking.

import { join } from 'node:path';
import { cachedSelftestTree, type SelftestTree } from '../../../orchestrator/kernels/selftests.js';

/** How to get the tree when it is missing. */
export const FETCH_HINT =
  'no unpacked linux-source-7.3 in ~/.cache/lustress/build/selftests (`lustress setup --for-tests` fetches it)';

/** The newest prepared tree and its tools/testing/selftests/vfio/lib (the selftest library and its drivers). */
export function selftestTree(): (SelftestTree & { lib: string }) | undefined {
  const tree = cachedSelftestTree();
  return tree && { ...tree, lib: join(tree.source, 'tools/testing/selftests/vfio/lib') };
}
