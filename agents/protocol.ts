// JSON-RPC 2.0 between orchestrator and agent: one JSON object per line over
// any byte stream (a child's stdio, an ssh session, a virtio-serial port).
// Extension: a request carries `deadline`, the milliseconds the caller will
// wait; the agent bounds its own waits by it (guest and host clocks differ,
// so it is relative).

export const ERR = {
  parse: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  /** The step ran and failed (e.g. corruption found, DMA error reported). */
  failed: -32000,
  /** This kernel or device cannot do it; the step's verdict is SKIP. */
  unsupported: -32001,
  /** Refused for safety (kexec or rebinding on a machine not marked disposable). */
  refused: -32002,
  deadline: -32003,
} as const;

export interface RpcErrorBody {
  code: number;
  message: string;
  data?: Record<string, unknown>;
}

export class RpcError extends Error {
  constructor(readonly code: number, message: string, readonly data: Record<string, unknown> = {}) {
    super(message);
    this.name = 'RpcError';
  }
  toBody(): RpcErrorBody {
    return { code: this.code, message: this.message, ...(Object.keys(this.data).length ? { data: this.data } : {}) };
  }
}

export type Message =
  | { jsonrpc: '2.0'; id: number | string; method: string; params?: any; deadline?: number }
  | { jsonrpc: '2.0'; method: string; params?: any }
  | { jsonrpc: '2.0'; id: number | string | null; result: unknown }
  | { jsonrpc: '2.0'; id: number | string | null; error: RpcErrorBody };

/** Longest line accepted; a longer one is dropped as garbage rather than buffered without end. */
export const MAX_LINE = 64 * 1024 * 1024;

/** Splits a byte stream into lines and parses each as JSON. */
export class LineDecoder {
  private pending = '';
  private dropping = false;

  constructor(private readonly onMessage: (m: unknown) => void, private readonly onGarbage: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    let text = this.pending + String(chunk);
    let nl: number;
    while ((nl = text.indexOf('\n')) !== -1) {
      const line = text.slice(0, nl).replace(/\r$/, '');
      text = text.slice(nl + 1);
      if (this.dropping) {
        this.dropping = false;
        continue;
      }
      if (!line.trim()) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        this.onGarbage(line);
        continue;
      }
      this.onMessage(parsed);
    }
    if (text.length > MAX_LINE) {
      this.onGarbage(`${text.slice(0, 200)}… (${text.length} bytes without a newline, dropped)`);
      text = '';
      this.dropping = true;
    }
    this.pending = text;
  }

  /** Forget a partial line (the sender went away mid-line, e.g. at a kexec). */
  reset(): void {
    this.pending = '';
    this.dropping = false;
  }
}

export function encode(m: Message): string {
  return JSON.stringify(m) + '\n';
}

export type Handler = (params: any, ctx: { deadline: number }) => Promise<unknown> | unknown;

/** Either end of the channel: sends requests and notifications, answers requests with `methods`. */
export class RpcPeer {
  private nextId = 1;
  private readonly waiting = new Map<number | string, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout; method: string }>();
  private readonly listeners = new Set<(method: string, params: any) => void>();
  readonly decoder: LineDecoder;

  constructor(
    private readonly write: (line: string) => void,
    private readonly methods: Record<string, Handler> = {},
    private readonly onGarbage: (line: string) => void = () => {},
  ) {
    this.decoder = new LineDecoder((m) => this.receive(m), (l) => this.onGarbage(l));
  }

  /** Feed bytes read from the channel. */
  push(chunk: Buffer | string): void {
    this.decoder.push(chunk);
  }

  onNotification(fn: (method: string, params: any) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  notify(method: string, params?: unknown): void {
    this.write(encode({ jsonrpc: '2.0', method, ...(params === undefined ? {} : { params }) }));
  }

  request<T = unknown>(method: string, params: unknown, timeoutMs: number): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new RpcError(ERR.deadline, `${method}: no answer within ${timeoutMs} ms`, { method, timeoutMs }));
      }, timeoutMs);
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, method });
      this.write(encode({ jsonrpc: '2.0', id, method, params, deadline: timeoutMs }));
    });
  }

  /** Fail every request still waiting (the other end is gone: a reboot, a lost connection). */
  abandon(reason: string): void {
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      w.reject(new RpcError(ERR.failed, `${w.method}: ${reason}`, { method: w.method, lost: true }));
      this.waiting.delete(id);
    }
  }

  get outstanding(): number {
    return this.waiting.size;
  }

  private receive(m: unknown): void {
    if (typeof m !== 'object' || m === null || (m as any).jsonrpc !== '2.0') {
      this.onGarbage(JSON.stringify(m));
      return;
    }
    const msg = m as any;
    if ('result' in msg || 'error' in msg) {
      const w = this.waiting.get(msg.id);
      if (!w) return; // an answer after its deadline: already reported as a timeout
      this.waiting.delete(msg.id);
      clearTimeout(w.timer);
      if ('error' in msg) w.reject(new RpcError(msg.error.code, msg.error.message, msg.error.data ?? {}));
      else w.resolve(msg.result);
      return;
    }
    if (typeof msg.method !== 'string') {
      this.reply(msg.id ?? null, undefined, new RpcError(ERR.invalidRequest, 'a request needs a method'));
      return;
    }
    if (msg.id === undefined) {
      for (const l of this.listeners) l(msg.method, msg.params);
      return;
    }
    void this.dispatch(msg);
  }

  private async dispatch(msg: { id: number | string; method: string; params?: unknown; deadline?: number }): Promise<void> {
    const handler = Object.hasOwn(this.methods, msg.method) ? this.methods[msg.method] : undefined;
    if (!handler) {
      this.reply(msg.id, undefined, new RpcError(ERR.methodNotFound, `no method "${msg.method}"`, { methods: Object.keys(this.methods) }));
      return;
    }
    const budget = typeof msg.deadline === 'number' && msg.deadline > 0 ? msg.deadline : 60_000;
    try {
      const result = await handler(msg.params ?? {}, { deadline: Date.now() + budget });
      this.reply(msg.id, result ?? null);
    } catch (e) {
      this.reply(msg.id, undefined, toRpcError(e));
    }
  }

  private reply(id: number | string | null, result: unknown, error?: RpcError): void {
    this.write(encode(error ? { jsonrpc: '2.0', id, error: error.toBody() } : { jsonrpc: '2.0', id, result }));
  }
}

export function toRpcError(e: unknown): RpcError {
  if (e instanceof RpcError) return e;
  const err = e as Error & { errno?: number; code?: string; data?: Record<string, unknown> };
  return new RpcError(ERR.failed, err?.message ?? String(e), { ...(err?.data ?? {}), ...(err?.code ? { code: err.code } : {}) });
}
