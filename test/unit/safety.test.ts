// Nothing lets a scenario make a machine disposable behind the user's back:
// the orchestrator stops before any step when an agent's hello disagrees with
// the target spec; ssh never reads a host as an option; the LUO calls ask the
// safety gate before they touch /dev/liveupdate.

import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hello } from '../../contract/agent.js';
import { luoMethods } from '../../agents/luo.js';
import { permitFor } from '../../agents/safety.js';
import { AgentState } from '../../agents/state.js';
import { NotPermitted } from '../../sys/errors.js';
import { createLogger } from '../../orchestrator/log.js';
import { runTarget } from '../../orchestrator/run/engine.js';
import { Journal, readJournal } from '../../orchestrator/run/journal.js';
import { checkScenarioText } from '../../orchestrator/scenario/load.js';
import { SshTarget } from '../../orchestrator/targets/ssh.js';
import type { Target } from '../../orchestrator/targets/target.js';

const log = createLogger({ level: 'silent' });

/** A machine whose agent says hello and would answer anything, counting what it is asked. */
function machine(disposable: boolean): Target & { calls: string[] } {
  const calls: string[] = [];
  const hello = { bootId: 'b1', release: '7.2', disposable, pid: 1 } as Hello;
  return {
    name: 'h',
    kind: 'local',
    calls,
    start: async () => hello,
    rpc: {
      request: async (m: string) => (calls.push(m), {}),
      on: () => () => {},
      abandon: () => {},
    } as unknown as Target['rpc'],
    waitForHello: async () => hello,
    whenLost: () => new Promise(() => {}),
    consoleEvents: () => [],
    consoleExcerpt: () => [],
    kexecImage: async () => ({ kernel: '/k' }),
    stop: async () => {},
  };
}

t.test('an agent that says it is disposable where the scenario says not: no step runs', async (t) => {
  const loaded = checkScenarioText(
    's.yaml',
    'version: 1\ntargets:\n  h: { local: { disposable: false } }\nsteps:\n  - sleep: 1ms\n',
  );
  if (!loaded.ok) throw new Error('fixture');
  const scenario = loaded.scenario;
  const runDir = mkdtempSync(join(tmpdir(), 'lustress-safety-'));
  const journal = Journal.create(runDir);
  journal.append({ type: 'run', at: Date.now(), scenario: 's', file: 's.yaml', text: '', options: {}, version: '0' });
  const target = machine(true);
  const hooks = { boot: () => {}, step: () => {}, iteration: () => {} };
  const outcome = await runTarget({
    scenario,
    spec: scenario.targets[0]!,
    target,
    journal,
    log,
    hooks,
    settings: { iterations: 1, keepGoing: false, seed: 1 },
    random: Math.random,
  });
  journal.close();
  t.equal(outcome.verdict, 'fail');
  t.match(
    outcome.untestable,
    /the agent says this machine is disposable, but the scenario says disposable: false: no step runs/,
  );
  t.same(target.calls, [], 'nothing was asked of the agent');
  t.same(
    readJournal(runDir)
      .filter((r) => r.type === 'step')
      .map((r) => (r as { kind: string }).kind),
    ['boot'],
    'only the refused boot is recorded',
  );
});

t.test('ssh gets the destination after "--", and --disposable only from the scenario', async (t) => {
  const args = (disposable: boolean) =>
    new SshTarget({
      spec: {
        kind: 'ssh',
        name: 'h',
        host: 'lab1',
        user: 'me',
        options: ['ProxyJump=bastion'],
        agent: 'lustress agent --stdio',
        kernels: [],
        disposable,
      },
      runDir: '/tmp',
      log,
    }).sshArgs();
  const a = args(false);
  t.equal(a[a.indexOf('--') + 1], 'me@lab1', 'the destination follows "--", where ssh reads no options');
  t.ok(a.indexOf('-o') < a.indexOf('--'), 'options before it');
  t.equal(a.at(-1), 'lustress agent --stdio --log-level info');
  t.match(args(true).at(-1), /--stdio --disposable --log-level/);
});

t.test('preserve, retrieve and finish ask the gate before /dev/liveupdate is opened', async (t) => {
  const methods = luoMethods(new AgentState(), permitFor(false));
  const ctx = { deadline: Date.now() + 1000 };
  for (const [name, call] of [
    ['preserve', () => methods.preserve({ session: 's', buffers: [], devices: [] }, ctx)],
    ['retrieve', () => methods.retrieve({ session: 's', buffers: [], devices: [] }, ctx)],
    ['finish', () => methods.finish({ session: 's' }, ctx)],
  ] as const) {
    t.throws(call, NotPermitted, `${name} is refused on a machine not marked disposable`);
  }
});
