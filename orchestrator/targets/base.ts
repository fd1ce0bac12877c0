// What every kind of target has alike: its name, the agent link once
// started, the signal that the machine is lost, the console if there is one.

import type { Hello } from '../../contract/agent.js';
import { ConsoleLog, FATAL_KINDS, type ConsoleEvent } from './console.js';
import { LossSignal, type AgentLink } from './link.js';
import { TargetLostError, type AgentClient } from './target.js';

/** The members every kind of target has alike. */
export abstract class BaseTarget {
  readonly name: string;
  protected link?: AgentLink;
  protected console?: ConsoleLog;

  protected readonly loss = new LossSignal();

  constructor(name: string) {
    this.name = name;
  }

  get rpc(): AgentClient {
    if (!this.link) throw new Error(`${this.name}: not started`);
    return this.link.rpc;
  }

  waitForHello(deadlineMs: number, previousBootId?: string): Promise<Hello> {
    if (!this.link) throw new Error(`${this.name}: not started`);
    return this.link.waitForHello(deadlineMs, previousBootId);
  }

  whenLost(): Promise<TargetLostError> {
    return this.loss.wait();
  }

  consoleEvents(): ConsoleEvent[] {
    return this.console ? [...this.console.events] : [];
  }

  /** Lines around an event, or the last lines; without a console, what the target has instead. */
  consoleExcerpt(event?: ConsoleEvent): string[] {
    return this.console ? this.console.excerpt(event, event ? 8 : 30, event ? 40 : 0) : this.withoutConsole();
  }

  /** A console kept in the run directory whose panics end the target (after `settle`, so the splat is complete). */
  protected openConsole(file: string, settle: () => Promise<unknown> = async () => {}): ConsoleLog {
    const serial = new ConsoleLog(file);
    this.console = serial;
    serial.onEvent((e) => {
      if (!FATAL_KINDS.has(e.kind)) return;
      void settle().then(() =>
        this.loss.set(
          new TargetLostError(
            this.name,
            'panic',
            `kernel panic: ${e.text.trim()}`,
            serial.excerpt(e),
            this.consoleEvents(),
          ),
        ),
      );
    });
    return serial;
  }

  protected withoutConsole(): string[] {
    return [];
  }
}
