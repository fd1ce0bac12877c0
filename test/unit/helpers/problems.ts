// Comparing a loader result with the problems a test expects, so that a
// failure shows the actual messages next to the expected ones.

import { formatProblem, type ScenarioProblem } from '../../../orchestrator/scenario/errors.js';
import type { LoadResult } from '../../../orchestrator/scenario/load.js';

export interface ExpectedProblem {
  /** "line:col" */
  at: string;
  /** The exact dotted path; without it, `text` is looked for in the whole "path: message". */
  path?: string;
  /** A substring of the message. */
  text: string;
}

/** The formatted problem without its "file:line:col: " prefix: "path: message". */
export function afterPosition(p: ScenarioProblem): string {
  return formatProblem(p).slice(`${p.file}:${p.line}:${p.col}: `.length);
}

function matches(p: ScenarioProblem, e: ExpectedProblem): boolean {
  if (`${p.line}:${p.col}` !== e.at) return false;
  return e.path === undefined ? afterPosition(p).includes(e.text) : p.path === e.path && p.message.includes(e.text);
}

function show(e: ExpectedProblem): string {
  return `${e.at} ${e.path === undefined ? '' : `${e.path}: …`}${e.text}`;
}

/**
 * The result's problems and the expectations as two lists of lines for t.same:
 * a problem that meets its expectation (same index) is shown as that
 * expectation, so the diff of a failure holds only the real differences.
 */
export function compareProblems(
  result: LoadResult,
  expected: readonly ExpectedProblem[],
): { actual: string[]; wanted: string[] } {
  const problems = result.ok ? [] : result.problems;
  const actual = problems.map((p, i) => {
    const e = expected[i];
    return e && matches(p, e) ? show(e) : `${p.line}:${p.col} ${afterPosition(p)}`;
  });
  return { actual, wanted: expected.map(show) };
}
