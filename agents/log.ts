// The agent's log: pino JSON lines appended to a file (the run directory's
// agent-BOOT.log in a guest) or to stderr; never to the agent channel.

import { pino, type Logger } from 'pino';

export type { Logger };

export function agentLogger(level: string, file?: string): Logger {
  return pino(
    { level, base: { name: 'agent' } },
    pino.destination({ dest: file ?? 2, sync: true, ...(file ? { mkdir: true } : {}) }),
  );
}
