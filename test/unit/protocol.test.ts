// The agent's end of the channel against hostile bytes: every line that is
// not a request gets the JSON-RPC 2.0 error the spec names (-32700 for what
// does not parse, -32600 for what is not a request), an overlong line is
// refused without being buffered, a character split between reads arrives
// whole, and after each the connection still serves.

import t from 'tap';
import { AGENT_METHODS, type AgentMethods } from '../../contract/agent.js';
import { ERR, LineDecoder, MAX_REQUEST_BYTES, RpcError, RpcPeer, type Handlers } from '../../contract/rpc.js';

interface Reply {
  id: number | string | null;
  result?: unknown;
  error?: { code: number; message: string };
}

/** An agent end whose replies are collected; `send` feeds it raw bytes. */
function agentEnd(handlers: Partial<Handlers<AgentMethods>> = {}) {
  const replies: Reply[] = [];
  const peer = new RpcPeer((line) => replies.push(JSON.parse(line) as Reply), {
    spec: AGENT_METHODS,
    handlers: { ping: () => ({ bootId: 'b', time: 1 }), ...handlers } as Handlers<AgentMethods>,
    toError: (e) => new RpcError(ERR.failed, (e as Error).message),
  });
  const settle = () => new Promise((r) => setImmediate(r));
  return {
    replies,
    async send(bytes: string | Buffer) {
      peer.push(bytes);
      await settle();
    },
  };
}

const ping = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'ping', params: {} }) + '\n';

t.test(
  'what is not a request is answered with the error JSON-RPC 2.0 names, and the channel keeps serving',
  async (t) => {
    const cases: [string, string, number, RegExp][] = [
      ['not JSON', 'hello there\n', ERR.parse, /^parse error: /],
      ['a NUL byte', '{"jsonrpc":"2.0","id":1,\0"method":"ping"}\n', ERR.parse, /^parse error: /],
      ['a batch', `[${ping(1).trim()}]\n`, ERR.invalidRequest, /^batches are not supported/],
      ['JSON that is no message', '42\n', ERR.invalidRequest, /^not a JSON-RPC 2\.0 message/],
      [
        'the wrong version',
        '{"jsonrpc":"1.0","id":7,"method":"ping"}\n',
        ERR.invalidRequest,
        /^not a JSON-RPC 2\.0 message/,
      ],
      ['no method', '{"jsonrpc":"2.0","id":8}\n', ERR.invalidRequest, /^a request needs a method/],
      [
        'an object as id',
        '{"jsonrpc":"2.0","id":{},"method":"ping"}\n',
        ERR.invalidRequest,
        /^an id is a number or a string/,
      ],
    ];
    for (const [what, line, code, message] of cases) {
      const end = agentEnd();
      await end.send(line);
      t.equal(end.replies.length, 1, `${what}: one reply`);
      t.equal(end.replies[0]?.error?.code, code, `${what}: code ${code}`);
      t.match(end.replies[0]?.error?.message, message, `${what}: ${end.replies[0]?.error?.message}`);
      await end.send(ping(99));
      t.same(
        end.replies[1],
        { jsonrpc: '2.0', id: 99, result: { bootId: 'b', time: 1 } },
        `${what}: the next request is answered`,
      );
    }
  },
);

t.test(
  'an overlong line is refused by its length as it streams in, without buffering it, and the channel goes on',
  async (t) => {
    const end = agentEnd();
    const chunk = Buffer.alloc(64 << 10, 'a');
    const started = Date.now();
    // 50 MiB without a newline, then its newline, then a request.
    for (let sent = 0; sent < 50 << 20; sent += chunk.length) await end.send(chunk);
    await end.send('\n' + ping(5));
    t.ok(Date.now() - started < 10_000, `50 MiB went through in ${Date.now() - started} ms (a hang fails)`);
    t.equal(end.replies.length, 2, 'one refusal, one answer');
    t.equal(end.replies[0]?.error?.code, ERR.invalidRequest);
    t.match(
      end.replies[0]?.error?.message,
      new RegExp(`^a line of \\d+ bytes is longer than the ${MAX_REQUEST_BYTES} this end reads`),
    );
    t.equal(end.replies[1]?.id, 5, 'the request after it is answered');
  },
);

t.test('a multi-byte character split between two reads arrives whole', async (t) => {
  const lines: string[] = [];
  const decoder = new LineDecoder(
    (l) => lines.push(l),
    () => t.fail('not overlong'),
    1024,
  );
  const bytes = Buffer.from('{"name":"€uro ☃"}\n');
  for (let i = 0; i < bytes.length; i++) decoder.push(bytes.subarray(i, i + 1));
  t.same(lines, ['{"name":"€uro ☃"}']);
  const end = agentEnd({ corrupt: (p) => ({ offset: p.offset, before: p.buffer.length, after: 0 }) });
  const request = Buffer.from(
    JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'corrupt', params: { buffer: 'ä€😀', offset: 1, xor: 1 } }) + '\n',
  );
  const cut = request.indexOf(Buffer.from('😀')) + 2;
  await end.send(request.subarray(0, cut));
  await end.send(request.subarray(cut));
  t.same(
    end.replies,
    [{ jsonrpc: '2.0', id: 3, result: { offset: 1, before: 4, after: 0 } }],
    'the name reached the handler intact',
  );
});

t.test('wrong parameter types come back as the field that is wrong, not as a JavaScript error', async (t) => {
  const end = agentEnd({ 'send-msi': () => ({ sent: 1 }) });
  await end.send(
    JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'send-msi', params: { device: 7, count: 'many' } }) + '\n',
  );
  t.equal(end.replies[0]?.error?.code, ERR.invalidParams);
  t.equal(
    end.replies[0]?.error?.message,
    'send-msi: params.device: expected a string, got number 7; params.count: expected an integer 1..9007199254740991, got the string "many"',
  );
});
