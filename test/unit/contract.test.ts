// The agent's contract at run time: every request's params are checked
// against their declared shapes at the agent's boundary (the types are the
// compiler's business), and the answer to a wrong one names the field.

import t from 'tap';
import { AGENT_METHODS, type AgentMethods, type MethodSpec } from '../../contract/agent.js';
import { ERR, RpcError, RpcPeer, type Handlers } from '../../contract/rpc.js';
import { int, list, object, oneOf, optional, problemsOf, str, u64 } from '../../contract/shape.js';

t.test('shapes: what is wrong, and where', async (t) => {
  const s = object({
    name: str,
    count: int(1, 10),
    mode: oneOf('a', 'b'),
    tags: optional(list(str)),
    token: optional(u64),
  });
  t.same(problemsOf(s, { name: 'x', count: 3, mode: 'a' }), []);
  t.same(problemsOf(s, { name: 'x', count: 3, mode: 'a', tags: ['p'], token: '18446744073709551615' }), []);
  t.same(problemsOf(s, { name: 5, count: 0, mode: 'c' }), [
    'params.name: expected a string, got number 5',
    'params.count: expected an integer 1..10, got number 0',
    'params.mode: expected "a" or "b", got the string "c"',
  ]);
  t.same(problemsOf(s, { count: 1.5, mode: 'a', extra: true }), [
    'params.name: required, missing',
    'params.count: expected an integer 1..10, got number 1.5',
    'params.extra: unexpected key',
  ]);
  t.same(problemsOf(s, { name: 'x', count: 1, mode: 'a', tags: ['ok', 7] }), [
    'params.tags[1]: expected a string, got number 7',
  ]);
  t.same(problemsOf(s, { name: 'x', count: 1, mode: 'a', token: '18446744073709551616' }), [
    'params.token: expected a decimal u64 string, got the string "18446744073709551616"',
  ]);
  t.same(problemsOf(s, null), ['params: expected an object, got null']);
  t.same(problemsOf(s, []), ['params: expected an object, got a list']);
});

/** A served peer and a calling peer wired back to back, as the agent and the orchestrator are. */
function pair(handlers: Partial<Handlers<AgentMethods>>) {
  const wire: { agent?: RpcPeer } = {};
  const orchestrator: RpcPeer<AgentMethods> = new RpcPeer((line) => wire.agent!.push(line));
  wire.agent = new RpcPeer((line) => orchestrator.push(line), {
    spec: AGENT_METHODS,
    handlers: handlers as Handlers<AgentMethods>,
    toError: (e) => new RpcError(ERR.failed, (e as Error).message),
  });
  return orchestrator;
}

t.test('a request whose params do not fit is refused before its handler runs', async (t) => {
  let ran = 0;
  const client = pair({ corrupt: () => (ran++, { offset: 0, before: 0, after: 0 }) });
  const wrong = { buffer: 'a', offset: '12', xor: 300 } as unknown as { buffer: string; offset: number; xor: number };
  const e = await client.request('corrupt', wrong, 1000).catch((x: unknown) => x);
  t.type(e, RpcError);
  t.equal((e as RpcError).code, ERR.invalidParams);
  t.equal(
    (e as RpcError).message,
    'corrupt: params.offset: expected an integer 0..9007199254740991, got the string "12"; params.xor: expected an integer 1..255, got number 300',
  );
  t.equal(ran, 0, 'the handler never saw them');
  t.same(
    await client.request('corrupt', { buffer: 'a', offset: 12, xor: 64 }, 1000),
    { offset: 0, before: 0, after: 0 },
    'params that fit reach it',
  );
  t.equal(ran, 1);
});

t.test('a handler that throws answers with the error its end makes of it; an unknown method is named', async (t) => {
  const client = pair({ ping: () => Promise.reject(new Error('boom')) });
  const e = await client.request('ping', {}, 1000).catch((x: unknown) => x);
  t.match(e, { code: ERR.failed, message: 'boom' });
  // A caller that believes in a method the agent does not have.
  const believer = client as unknown as RpcPeer<{ nope: MethodSpec<Record<string, never>> }>;
  const none = await believer.request('nope', {}, 1000).catch((x: unknown) => x);
  t.match(none, { code: ERR.methodNotFound, message: 'no method "nope"' });
});
