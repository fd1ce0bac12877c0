// Where the layers' errors become the protocol's: a system error keeps its
// call, errno and BDF as data; a refused side effect is "refused"; what the
// kernel or device cannot do is "unsupported" (the step is skipped); a wrong
// request is "invalid params"; anything else a step met is "failed".

import { ERR, RpcError } from '../contract/rpc.js';
import { DmaError } from '../drivers/framework.js';
import { DeviceError } from '../drivers/vfio/errors.js';
import { NotPermitted, SysError, Unsupported } from '../sys/errors.js';

/** A request the agent cannot act on as given (a buffer too small, an offset outside it). */
export class BadRequest extends Error {
  constructor(
    message: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'BadRequest';
  }
}

export function toRpcError(e: unknown): RpcError {
  if (e instanceof RpcError) return e;
  if (e instanceof NotPermitted) return new RpcError(ERR.refused, e.message, { action: e.action });
  if (e instanceof Unsupported) return new RpcError(ERR.unsupported, e.message, e.data);
  if (e instanceof BadRequest) return new RpcError(ERR.invalidParams, e.message, e.data);
  if (e instanceof SysError || e instanceof DmaError || e instanceof DeviceError)
    return new RpcError(ERR.failed, e.message, e.data);
  return new RpcError(ERR.failed, e instanceof Error ? e.message : String(e));
}
