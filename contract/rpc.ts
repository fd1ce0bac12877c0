// JSON-RPC 2.0 between orchestrator and agent: one JSON object per line over
// any byte stream (a child's stdio, an ssh session, a virtio-serial port),
// typed by a method table (contract/agent.ts). Extension: a request carries
// `deadline`, the milliseconds the caller will wait; the agent bounds its own
// waits by it (guest and host clocks differ, so it is relative).

import type { MethodTable, ParamsOf, ResultOf } from './agent.js';
import { problemsOf } from './shape.js';

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
  constructor(
    readonly code: number,
    message: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'RpcError';
  }
  toBody(): RpcErrorBody {
    return { code: this.code, message: this.message, ...(Object.keys(this.data).length ? { data: this.data } : {}) };
  }
}

export type Message =
  | { jsonrpc: '2.0'; id: number | string; method: string; params?: unknown; deadline?: number }
  | { jsonrpc: '2.0'; method: string; params?: unknown }
  | { jsonrpc: '2.0'; id: number | string | null; result: unknown }
  | { jsonrpc: '2.0'; id: number | string | null; error: RpcErrorBody };

/** Longest request an agent reads: every request is small; a longer line is refused, not buffered. */
export const MAX_REQUEST_BYTES = 4 << 20;
/** Longest answer the orchestrator reads (exec's output is the largest: two 64 MiB streams, escaped). */
export const MAX_REPLY_BYTES = 512 << 20;

/**
 * Splits a byte stream into lines. Linear: each byte is looked at once and
 * copied at most once; a line is decoded as UTF-8 only when whole, so a
 * character split between two reads arrives intact. A line longer than
 * `maxBytes` is reported by its length and skipped, up to its newline.
 */
export class LineDecoder {
  private parts: Buffer[] = [];
  private size = 0;
  private dropping = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onOverlong: (bytes: number) => void,
    private readonly maxBytes: number,
  ) {}

  push(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      const tail = buf.subarray(start, nl);
      start = nl + 1;
      if (this.dropping) {
        this.dropping = false;
      } else if (this.size + tail.length > this.maxBytes) {
        this.onOverlong(this.size + tail.length);
      } else {
        const line = this.size ? Buffer.concat([...this.parts, tail]) : tail;
        this.onLine(line.toString('utf8'));
      }
      this.parts = [];
      this.size = 0;
    }
    if (start >= buf.length || this.dropping) return;
    const rest = buf.subarray(start);
    if (this.size + rest.length > this.maxBytes) {
      this.onOverlong(this.size + rest.length);
      this.parts = [];
      this.size = 0;
      this.dropping = true;
      return;
    }
    // Copied: the caller may reuse its read buffer.
    this.parts.push(Buffer.from(rest));
    this.size += rest.length;
  }

  /** Forget a partial line (the sender went away mid-line, e.g. at a kexec). */
  reset(): void {
    this.parts = [];
    this.size = 0;
    this.dropping = false;
  }
}

export function encode(m: Message): string {
  return JSON.stringify(m) + '\n';
}

/** What a handler knows of the request it serves. */
export interface CallContext {
  /** Epoch ms by which the caller wants the answer. */
  deadline: number;
}

export type Handlers<T extends MethodTable> = {
  [M in keyof T]: (params: ParamsOf<T, M>, ctx: CallContext) => ResultOf<T, M> | Promise<ResultOf<T, M>>;
};

/** The methods one end serves, and how its failures become JSON-RPC errors. */
export interface Served<T extends MethodTable> {
  spec: T;
  handlers: Handlers<T>;
  toError(e: unknown): RpcError;
}

/**
 * Either end of the channel: calls `Remote`'s methods, serves its own
 * (checking every request's params against their declared shapes first),
 * receives notifications `In` and sends notifications `Out`.
 */
/** No methods, or no notifications: the default of an end that only serves, or only calls. */
export type None = Record<never, never>;

export class RpcPeer<Remote extends MethodTable = None, In extends object = None, Out extends object = None> {
  private nextId = 1;
  private readonly waiting = new Map<
    number | string,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout; method: string }
  >();
  private readonly listeners = new Set<(method: string, params: unknown) => void>();
  readonly decoder: LineDecoder;

  constructor(
    private readonly write: (line: string) => void,
    private readonly served?: Served<MethodTable>,
    private readonly onGarbage: (line: string) => void = () => {},
  ) {
    this.decoder = new LineDecoder(
      (line) => this.line(line),
      (bytes) =>
        this.refuse(
          null,
          ERR.invalidRequest,
          `a line of ${bytes} bytes is longer than the ${this.maxBytes} this end reads`,
          `${bytes} bytes without a newline`,
        ),
      this.maxBytes,
    );
  }

  /** A serving end reads requests, which are small; a calling end reads answers, which may be large. */
  private get maxBytes(): number {
    return this.served ? MAX_REQUEST_BYTES : MAX_REPLY_BYTES;
  }

  /**
   * Something that is not a message for us: a serving end answers it with a
   * JSON-RPC error (as the spec asks); both ends note it.
   */
  private refuse(id: number | string | null, code: number, message: string, garbage: string): void {
    if (this.served) this.reply(id, undefined, new RpcError(code, message));
    this.onGarbage(garbage);
  }

  private line(text: string): void {
    const line = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (!line.trim()) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (e) {
      this.refuse(null, ERR.parse, `parse error: ${(e as Error).message}`, line);
      return;
    }
    this.receive(parsed, line);
  }

  /** Feed bytes read from the channel. */
  push(chunk: Buffer | string): void {
    this.decoder.push(chunk);
  }

  /** Calls `fn` with every notification `method` carries; returns the unsubscribe. */
  on<N extends keyof In & string>(method: N, fn: (params: In[N]) => void): () => void {
    const listener = (m: string, p: unknown) => {
      if (m === method) fn(p as In[N]);
    };
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify<N extends keyof Out & string>(method: N, params: Out[N]): void {
    this.write(encode({ jsonrpc: '2.0', method, params }));
  }

  request<M extends keyof Remote & string>(
    method: M,
    params: ParamsOf<Remote, M>,
    timeoutMs: number,
  ): Promise<ResultOf<Remote, M>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
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

  private receive(m: unknown, line: string): void {
    if (Array.isArray(m)) {
      this.refuse(null, ERR.invalidRequest, 'batches are not supported: send one request per line', line);
      return;
    }
    if (typeof m !== 'object' || m === null || (m as { jsonrpc?: unknown }).jsonrpc !== '2.0') {
      const id = (m as { id?: unknown } | null)?.id;
      this.refuse(
        typeof id === 'number' || typeof id === 'string' ? id : null,
        ERR.invalidRequest,
        'not a JSON-RPC 2.0 message (an object with "jsonrpc": "2.0")',
        line,
      );
      return;
    }
    const msg = m as Record<string, unknown>;
    const id = typeof msg.id === 'number' || typeof msg.id === 'string' ? msg.id : undefined;
    if (msg.id !== undefined && msg.id !== null && id === undefined) {
      this.refuse(null, ERR.invalidRequest, 'an id is a number or a string', line);
      return;
    }
    if ('result' in msg || 'error' in msg) {
      const w = id === undefined ? undefined : this.waiting.get(id);
      // An answer to no request of ours (the other end refusing a line) is noted; one after its deadline was reported
      // then.
      if (!w) return void (id === undefined && this.onGarbage(line));
      this.waiting.delete(id!);
      clearTimeout(w.timer);
      const error = msg.error as RpcErrorBody | undefined;
      if (error) w.reject(new RpcError(error.code, error.message, error.data ?? {}));
      else w.resolve(msg.result);
      return;
    }
    if (typeof msg.method !== 'string') {
      this.refuse(id ?? null, ERR.invalidRequest, 'a request needs a method', line);
      return;
    }
    if (id === undefined) {
      for (const l of this.listeners) l(msg.method, msg.params);
      return;
    }
    void this.dispatch({
      id,
      method: msg.method,
      params: msg.params,
      ...(typeof msg.deadline === 'number' ? { deadline: msg.deadline } : {}),
    });
  }

  private async dispatch(msg: {
    id: number | string;
    method: string;
    params?: unknown;
    deadline?: number;
  }): Promise<void> {
    const served = this.served;
    const spec = served && Object.hasOwn(served.spec, msg.method) ? served.spec[msg.method] : undefined;
    if (!served || !spec) {
      this.reply(
        msg.id,
        undefined,
        new RpcError(ERR.methodNotFound, `no method "${msg.method}"`, { methods: Object.keys(served?.spec ?? {}) }),
      );
      return;
    }
    const params = msg.params ?? {};
    const problems = problemsOf(spec.params, params);
    if (problems.length) {
      this.reply(
        msg.id,
        undefined,
        new RpcError(ERR.invalidParams, `${msg.method}: ${problems.join('; ')}`, { problems }),
      );
      return;
    }
    const budget = typeof msg.deadline === 'number' && msg.deadline > 0 ? msg.deadline : 60_000;
    try {
      const result = await served.handlers[msg.method]!(params, { deadline: Date.now() + budget });
      this.reply(msg.id, result ?? null);
    } catch (e) {
      this.reply(msg.id, undefined, served.toError(e));
    }
  }

  private reply(id: number | string | null, result: unknown, error?: RpcError): void {
    this.write(encode(error ? { jsonrpc: '2.0', id, error: error.toBody() } : { jsonrpc: '2.0', id, result }));
  }
}
