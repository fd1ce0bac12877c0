// Headless Chromium as the report tests use it: a page's screenshot and its
// DOM after rendering, with a profile of its own and nothing fetched.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { execa } from 'execa';
import { prerequisiteMissing } from './prerequisite.js';
import { decodePng, type Image } from './png.js';

const CHROMIUM = '/usr/bin/chromium';

/** False (and a CI failure) where Chromium is not installed. */
export function haveChromium(t: Test): boolean {
  if (existsSync(CHROMIUM)) return true;
  prerequisiteMissing(t, 'chromium is missing (lustress setup --for-tests installs it)');
  return false;
}

/** Chromium's flags for a page rendered once, its profile under `dir`. */
const flags = (dir: string) => [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  `--user-data-dir=${join(dir, 'profile')}`,
];

/** The page rendered at width × height, as decoded pixels; the test fails if Chromium wrote no screenshot. */
export async function screenshot(t: Test, page: string, dir: string, width: number, height: number): Promise<Image> {
  const png = join(dir, 'shot.png');
  const shot = await execa(
    CHROMIUM,
    [...flags(dir), `--screenshot=${png}`, `--window-size=${width},${height}`, `file://${page}`],
    { reject: false, timeout: 60_000 },
  );
  t.ok(existsSync(png), `chromium wrote a screenshot (${shot.stderr.split('\n').slice(-2).join(' ')})`);
  return decodePng(readFileSync(png));
}

/** The page's DOM as Chromium rendered it. */
export async function renderedDom(page: string, dir: string): Promise<string> {
  const dom = await execa(CHROMIUM, [...flags(dir), '--dump-dom', `file://${page}`], {
    reject: false,
    timeout: 60_000,
  });
  return dom.stdout;
}
