// The ssh target against a real sshd: a QEMU guest (Debian's kernel, which
// has IP networking) runs the host's sshd behind a loopback port forward; a
// scenario reaches it over ssh, kexecs it, and the target reconnects to the
// new boot's agent.

import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { createLogger } from '../../orchestrator/log.js';
import { runScenario } from '../../orchestrator/run/run.js';
import { checkScenarioText } from '../../orchestrator/scenario/load.js';
import { LUSTRESS_BIN } from '../../orchestrator/project.js';
import { BOOT_DEADLINE_MS, guestPrerequisites, guestSpec, qemuTarget, testRunDir } from './guest.js';

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Keys and an sshd_config in a directory the guest sees at the same path. */
async function sshMaterial(dir: string): Promise<{ clientKey: string }> {
  mkdirSync(dir, { recursive: true });
  for (const name of ['host_key', 'client_key'])
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)]);
  await execa('cp', [join(dir, 'client_key.pub'), join(dir, 'authorized_keys')]);
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      'Port 22',
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'StrictModes no',
      'UsePAM no',
      'PidFile /run/sshd.pid',
      '',
    ].join('\n'),
  );
  return { clientKey: join(dir, 'client_key') };
}

t.test('an ssh target survives a kexec of its host by reconnecting', async (t) => {
  if (!(await guestPrerequisites(t, ['debian']))) return;
  const runDir = testRunDir(t);
  const sshDir = join(runDir, 'ssh');
  const { clientKey } = await sshMaterial(sshDir);
  const port = await freeLoopbackPort();
  const guest = qemuTarget(t, {
    runDir,
    spec: guestSpec({ kernel: 'debian', devices: [] }),
    ssh: { port, dir: sshDir },
  });
  await guest.start(BOOT_DEADLINE_MS);
  const boot = guest.firstBoot!;

  const yaml = `version: 1
reboot: kexec
targets:
  host:
    ssh:
      host: 127.0.0.1
      port: ${port}
      user: root
      identity: ${clientKey}
      options: [StrictHostKeyChecking=no, UserKnownHostsFile=/dev/null, LogLevel=ERROR]
      agent: "${process.execPath} ${LUSTRESS_BIN} agent --stdio"
      kernels: [${boot.kernel.image}]
      initrd: ${boot.initrd}
      disposable: true
buffers:
  a: { size: 4MiB }
steps:
  - fill: { buffers: [a] }
  - verify: { buffers: [a] }
  - kexec-load:
  - kexec-exec:
  - fill: { buffers: [a] }
  - verify: { buffers: [a] }
`;
  const loaded = checkScenarioText('ssh-kexec.yaml', yaml);
  t.ok(loaded.ok, loaded.ok ? 'the scenario validates' : loaded.problems.map((p) => p.message).join('; '));
  if (!loaded.ok) return;
  const scenarioDir = join(runDir, 'ssh-run');
  mkdirSync(scenarioDir);
  const boots: string[] = [];
  let ktap = '';
  const summary = await runScenario(loaded.scenario, {
    runDir: scenarioDir,
    log: createLogger({ level: 'debug', file: join(scenarioDir, 'lustress.log'), pretty: false }),
    out: (text) => (ktap += text),
    scenarioText: yaml,
    keepGoing: false,
    hooks: { boot: (_t, h) => boots.push(h.bootId) },
  });
  t.equal(summary.verdict, 'pass', 'the run passes', summary.verdict === 'pass' ? {} : { diagnostic: true, ktap });
  t.equal(boots.length, 2, 'a hello from the first boot and one from the kexec’d boot');
  t.not(boots[0], boots[1], 'the second hello comes from a new boot');
  const blackout = summary.iterations[0]?.metrics.blackoutMs;
  t.ok(
    blackout !== undefined && blackout > 0 && blackout < 240_000,
    `blackout measured across the reconnect (${blackout} ms)`,
  );
});
