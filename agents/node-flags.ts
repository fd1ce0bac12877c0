// The V8 flags lustress guests start the agent's Node with
// (orchestrator/targets/qemu/init.sh passes them, and
// test/unit/agent-start.test.ts checks that it does). The build makes the
// agent's code cache under them too: V8 refuses a cache made under other flags.

/**
 * A young generation of 16 MiB from the start. An agent after a kexec lives a few seconds: with Node's default it
 * scavenged once in every boot, 11-15 ms under TCG right after the first answer, and the next request waited 24-34 ms
 * (3 ms without the scavenge).
 */
export const AGENT_NODE_FLAGS = ['--min-semi-space-size=16'];
