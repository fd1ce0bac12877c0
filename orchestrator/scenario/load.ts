// Scenario file -> validated Scenario, or every problem in the file at once.

import { checkSemantics } from './check.js';
import { ScenarioError, type ScenarioProblem } from './errors.js';
import { toScenario, type Scenario } from './model.js';
import { validateAgainstSchema } from './schema.js';
import { locate, parseSource, readSource, type SourceResult } from './source.js';

export type LoadResult = { ok: true; scenario: Scenario } | { ok: false; problems: ScenarioProblem[] };

export function checkScenarioFile(file: string): LoadResult {
  return check(file, readSource(file));
}

/** For text that is not in a file (tests, stdin). */
export function checkScenarioText(file: string, text: string | Uint8Array): LoadResult {
  return check(file, parseSource(file, typeof text === 'string' ? Buffer.from(text) : text));
}

export function loadScenario(file: string): Scenario {
  const result = checkScenarioFile(file);
  if (!result.ok) throw new ScenarioError(result.problems);
  return result.scenario;
}

function check(file: string, read: SourceResult): LoadResult {
  if (!read.ok) return read;
  const { source, data } = read;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    // Where the content starts, after any leading comments.
    const { line, col } = locate(source, []);
    return {
      ok: false,
      problems: [
        {
          file,
          line,
          col,
          path: '',
          message: `a scenario is a mapping with "version" and "steps"; this file holds ${data === null ? 'nothing' : Array.isArray(data) ? 'a list' : 'a single value'}`,
        },
      ],
    };
  }
  const problems = [...validateAgainstSchema(source, data), ...checkSemantics(source, data)];
  if (problems.length) return { ok: false, problems: sortUnique(problems) };
  return { ok: true, scenario: toScenario(file, data) };
}

function sortUnique(problems: ScenarioProblem[]): ScenarioProblem[] {
  const seen = new Set<string>();
  return problems
    .filter((p) => {
      const key = `${p.line}:${p.col}:${p.path}:${p.message}`;
      return !seen.has(key) && seen.add(key);
    })
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}
