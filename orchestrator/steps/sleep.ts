// sleep: the orchestrator waits; a lost target ends the wait.

import { validMs } from '../scenario/units.js';
import { defineStep } from './define.js';

/** Slack on top of a sleep's own length before it counts as hung. */
const SLEEP_SLACK_MS = 10_000;

export const sleep = defineStep('sleep', {
  model: (a: string) => ({ ms: validMs(a) }),
  label: (s) => `sleep ${s.ms}ms`,
  timeout: (s) => s.ms + SLEEP_SLACK_MS,
  check() {},
  async run(s, ctx) {
    await ctx.sleep(s.ms);
    return { detail: { ms: s.ms } };
  },
});
