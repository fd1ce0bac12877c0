#!/usr/bin/env node
// `lustress agent` alone, for the bundle the guests start (dist/bin/agent.mjs,
// made by orchestrator/bundle-agent.ts): after every kexec the agent's start is
// part of the blackout, and one file is one 9p read instead of a hundred.

import { agentMain } from '../agents/main.js';

await agentMain(process.argv.slice(2));
