// A device that is not in the state an operation needs (not bound, in use,
// its group not viable, a register that never settled): the BDF first, and
// the facts that explain it as JSON-safe data.

export class DeviceError extends Error {
  readonly data: Record<string, unknown>;
  constructor(
    readonly bdf: string,
    message: string,
    data: Record<string, unknown> = {},
  ) {
    super(`${bdf}: ${message}`);
    this.name = 'DeviceError';
    this.data = { bdf, ...data };
  }
}
