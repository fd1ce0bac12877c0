#!/usr/bin/env node
// The `lustress` command: `lustress agent …` starts the agent (the machine
// under test's side), every other command is the orchestrator's (the control
// machine's). Each side loads only its own code.

const argv = process.argv.slice(2);

// `lustress report … | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

if (argv[0] === 'agent') await (await import('../agents/main.js')).agentMain(argv.slice(1));
else await (await import('../orchestrator/cli.js')).orchestratorMain(argv);
