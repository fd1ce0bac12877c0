// Children that must not outlive the orchestrator: if it is killed (kill -9,
// a CI timeout), the kernel kills them too (PR_SET_PDEATHSIG via setpriv),
// so a resumed run never finds a stale guest holding the run's devices.

export function orphanProof(file: string, args: string[]): [string, string[]] {
  return ['setpriv', ['--pdeathsig', 'SIGKILL', '--', file, ...args]];
}
