// The step kinds, drivers, IOMMU modes and emulated devices the code knows
// are exactly those the scenario language (scenarios/schema.json) defines;
// and every kind builds its model and label from the schema's own examples.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DRIVER_CATALOG, DRIVER_NAMES, FROM_DOCUMENTATION, IOMMU_MODES, QEMU_MODELS } from '../../contract/devices.js';
import { DRIVERS } from '../../drivers/registry.js';
import { PROJECT_DIR } from '../../orchestrator/project.js';
import { VFIO_DRIVER_RE } from '../../sys/sysfs.js';
import { checkScenarioText } from '../../orchestrator/scenario/load.js';
import { scenarioSchema } from '../../orchestrator/scenario/schema.js';
import { STEP_KINDS, STEPS, type StepKind } from '../../orchestrator/steps/index.js';

const schema = scenarioSchema();
const stepSchema = schema.definitions.step;

t.test('the registry holds one module per step kind of the schema, in the same order', async (t) => {
  t.same([...STEP_KINDS], stepSchema['x-lustress-one-of']);
  t.same(Object.keys(STEPS).sort(), [...STEP_KINDS].sort());
  for (const [kind, def] of Object.entries(STEPS)) t.equal(def.kind, kind, `${kind}'s module says it is ${kind}`);
});

t.test('drivers, IOMMU modes and emulated models are the schema enums', async (t) => {
  t.same([...DRIVER_NAMES], schema.definitions.device.properties.driver.enum);
  t.same([...IOMMU_MODES], schema.definitions.device.properties.iommu.enum);
  t.same(Object.keys(QEMU_MODELS), schema.definitions.qemuDevice.properties.model.enum);
  t.equal(schema.definitions.device.properties['vfio-driver'].pattern, VFIO_DRIVER_RE.source, 'VFIO driver names');
});

t.test('every driver folder is registered, and one written from documentation says so first', async (t) => {
  const drivers = join(PROJECT_DIR, 'drivers');
  const folders = readdirSync(drivers, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'vfio')
    .map((d) => d.name);
  t.same(folders.sort(), Object.keys(DRIVERS).sort(), 'drivers/<name>/ for each registered driver, and no other');
  for (const name of DRIVER_NAMES) {
    t.equal(DRIVERS[name]().name, name, `${name}'s ops say ${name}`);
    if (DRIVER_CATALOG[name].verification !== FROM_DOCUMENTATION) continue;
    const readme = join(drivers, name, 'README.md');
    const top = existsSync(readme) ? readFileSync(readme, 'utf8').slice(0, 800) : '';
    t.match(top, /never (run|touched real) (on )?hardware/, `${name}/README.md says near its top it never ran`);
  }
});

t.test("each kind's schema examples load into a step with its label and deadline", async (t) => {
  const header = `version: 1
devices:
  nic: { id: "8086:10c9", driver: igb }
buffers:
  a: { size: 64KiB }
  src: { size: 64KiB }
  dst: { size: 64KiB }
steps:
`;
  const bind = '  - bind: { device: nic }\n';
  const mapped = `${bind}  - map: { device: nic, buffers: [src, dst] }\n`;
  const rebooted =
    '  - fill: { buffers: [src, dst] }\n  - preserve: { session: vm1, buffers: [a, src, dst] }\n  - kexec-load:\n  - kexec-exec:\n';
  // What each example needs before it (a device bound, a session preserved across a reboot…).
  const before: Partial<Record<StepKind, string>> = {
    map: bind,
    'memcpy-start': mapped,
    'memcpy-wait': `${mapped}  - memcpy-start: { device: nic, from: src, to: dst }\n`,
    'send-msi': bind,
    'expect-msi': bind,
    'kexec-exec': '  - kexec-load:\n',
    retrieve: rebooted,
    verify: `${rebooted}  - retrieve: { session: vm1 }\n`,
    finish: `${rebooted}  - retrieve: { session: vm1 }\n`,
  };
  for (const kind of STEP_KINDS) {
    for (const example of stepSchema.properties[kind].examples as unknown[]) {
      const loaded = checkScenarioText(
        `${kind}.yaml`,
        `${header}${before[kind] ?? ''}  - ${JSON.stringify({ [kind]: example })}\n`,
      );
      if (!loaded.ok) {
        t.fail(`${kind} ${JSON.stringify(example)}: ${loaded.problems.map((p) => p.message).join('; ')}`);
        continue;
      }
      const built = loaded.scenario.steps.at(-1)!;
      t.equal(built.kind, kind);
      t.ok(built.label.startsWith(kind), `${kind} ${JSON.stringify(example)} -> "${built.label}"`);
      t.ok(built.timeoutMs > 0, `with a deadline (${built.timeoutMs} ms)`);
    }
  }
});
