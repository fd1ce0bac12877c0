// The scenario the CLI tests run when they need a real run but no guest: one
// patterned buffer filled and verified on a local target (no reboot).

/** Its text: a buffer of `size`, and `sleep` between the fill and the verify where given (time to act mid-run). */
export function localScenario(opts: { size: string; sleep?: string }): string {
  return `version: 1
targets:
  here: { local: {} }
buffers:
  a: { size: ${opts.size} }
steps:
  - fill: { buffers: [a] }
${opts.sleep ? `  - sleep: ${opts.sleep}\n` : ''}  - verify: { buffers: [a] }
`;
}
