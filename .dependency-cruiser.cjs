// The layering of lustress, enforced (npm run lint, and a unit test): from
// the bottom, sys/ (system calls, uAPI, sysfs), then drivers/ and kexec/,
// then agents/; orchestrator/ on the control machine beside them; contract/
// (what crosses the agent channel) is imported by both sides and imports
// nothing of the project. No import goes up, none forms a circle.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import circle: modules that cannot be understood (or initialised) one before the other.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'contract-imports-nothing',
      comment: 'contract/ is the vocabulary both sides share; it depends on no part of the project.',
      severity: 'error',
      from: { path: '^contract/' },
      to: { path: '^(sys|drivers|kexec|agents|orchestrator|bin|test|bench)/' },
    },
    {
      name: 'sys-is-the-bottom',
      comment: 'sys/ knows nothing of drivers, kexec, the agent or the orchestrator.',
      severity: 'error',
      from: { path: '^sys/' },
      to: { path: '^(drivers|kexec|agents|orchestrator|bin|test|bench)/' },
    },
    {
      name: 'drivers-build-on-sys',
      comment: 'drivers/ use sys/ (and the contract’s vocabulary) only: never the agent, kexec or the orchestrator.',
      severity: 'error',
      from: { path: '^drivers/' },
      to: { path: '^(kexec|agents|orchestrator|bin|test|bench)/' },
    },
    {
      name: 'kexec-builds-on-sys',
      comment: 'kexec/ (kexec and LUO system calls) uses sys/ only.',
      severity: 'error',
      from: { path: '^kexec/' },
      to: { path: '^(drivers|agents|orchestrator|bin|test|bench)/' },
    },
    {
      name: 'agents-never-import-the-orchestrator',
      comment: 'The agent runs on the machine under test and decides no policy.',
      severity: 'error',
      from: { path: '^agents/' },
      to: { path: '^(orchestrator|bin|test|bench)/' },
    },
    {
      name: 'orchestrator-never-touches-the-target',
      comment: 'The orchestrator reaches the machine under test only through the agent contract.',
      severity: 'error',
      from: { path: '^orchestrator/' },
      to: { path: '^(agents|drivers|kexec|sys|bin|test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a layer that needs another's types depends on it.
    tsPreCompilationDeps: true,
    moduleSystems: ['es6'],
  },
};
