// apt against suites the machine does not list (sid, experimental,
// bookworm-backports) through a private source list and private state, so the
// system's own apt configuration is never edited.

import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheDir } from './cache.js';

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const FALLBACK_MIRROR = 'http://deb.debian.org/debian';
/** Private package lists older than this are refreshed before use. */
const LISTS_MAX_AGE_MS = 24 * 3600 * 1000;

/** The Debian mirror the machine's own sources name (deb822 or one-line form). */
export function systemMirror(): string {
  const files: string[] = [];
  for (const dir of ['/etc/apt/sources.list.d']) {
    try {
      for (const f of readdirSync(dir)) if (/\.(sources|list)$/.test(f)) files.push(join(dir, f));
    } catch {
      /* no such directory */
    }
  }
  files.push('/etc/apt/sources.list');
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    const uri =
      /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(text) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s/m.exec(text);
    if (uri) return uri[1]!;
  }
  return FALLBACK_MIRROR;
}

/**
 * apt-cache answers per private state and question, for this process: they
 * change only with an update, and a soak asks which kernel "live-update" is at
 * every kexec (each apt-cache run costs seconds).
 */
const answers = new Map<string, Promise<string>>();

export class PrivateApt {
  readonly dir: string;
  private readonly sourceList: string;
  private fresh = false;

  /** `suites` such as ["sid", "experimental"]; bookworm main is always added for dependencies. */
  constructor(
    readonly suites: string[],
    private readonly log: (msg: string) => void = () => {},
  ) {
    this.dir = join(cacheDir(), 'apt', suites.join('+'));
    this.sourceList = join(this.dir, 'sources.list');
  }

  private options(): string[] {
    return [
      '-o',
      `Dir::Etc::sourcelist=${this.sourceList}`,
      '-o',
      'Dir::Etc::sourceparts=-',
      '-o',
      `Dir::State::Lists=${join(this.dir, 'lists')}`,
      '-o',
      `Dir::Cache::archives=${join(this.dir, 'archives')}`,
      '-o',
      'APT::Sandbox::User=root',
    ];
  }

  async update(force = false): Promise<void> {
    if (this.fresh && !force) return;
    mkdirSync(join(this.dir, 'lists', 'partial'), { recursive: true });
    mkdirSync(join(this.dir, 'archives', 'partial'), { recursive: true });
    const mirror = systemMirror();
    const suites = ['bookworm', ...this.suites.filter((s) => s !== 'bookworm')];
    writeFileSync(this.sourceList, suites.map((s) => `deb [signed-by=${KEYRING}] ${mirror} ${s} main\n`).join(''));
    const age = (() => {
      try {
        return Date.now() - statSync(join(this.dir, 'updated')).mtimeMs;
      } catch {
        return Infinity;
      }
    })();
    if (force || age > LISTS_MAX_AGE_MS) {
      this.log(`apt-get update (${suites.join(', ')} from ${mirror})`);
      await execa('apt-get', [...this.options(), '-q', 'update'], { stdin: 'ignore' });
      writeFileSync(join(this.dir, 'updated'), new Date().toISOString());
      for (const key of answers.keys()) if (key.startsWith(`${this.dir}\0`)) answers.delete(key);
    }
    this.fresh = true;
  }

  /** stdout of `apt-cache ARGS` against these lists, asked once per process. */
  private async aptCache(...args: string[]): Promise<string> {
    await this.update();
    const key = [this.dir, ...args].join('\0');
    let answer = answers.get(key);
    if (!answer) {
      answer = execa('apt-cache', [...this.options(), ...args], { stdin: 'ignore' }).then((r) => r.stdout);
      answers.set(key, answer);
      answer.catch(() => answers.delete(key));
    }
    return answer;
  }

  /** The candidate version of a package in these suites, or undefined. */
  async candidate(pkg: string, suite?: string): Promise<string | undefined> {
    const stdout = await this.aptCache('policy', pkg);
    if (suite) {
      // With a suite, take the newest version that suite offers (experimental is pinned low by default).
      const lines = stdout.split('\n');
      for (let i = 0; i < lines.length; i++) {
        const v = /^\s+(?:\*\*\*\s+)?(\S+)\s+\d+$/.exec(lines[i]!);
        if (v && lines[i + 1]?.includes(` ${suite}/`)) return v[1];
      }
      return undefined;
    }
    const m = /Candidate:\s*(\S+)/.exec(stdout);
    return m && m[1] !== '(none)' ? m[1] : undefined;
  }

  /** Direct dependencies of a package's candidate version. */
  async depends(pkg: string): Promise<string[]> {
    const stdout = await this.aptCache('depends', pkg);
    return [...stdout.matchAll(/^\s+\|?(?:Pre)?Depends:\s*(\S+)/gm)].map((m) => m[1]!);
  }

  /** Names of packages whose name matches a regular expression (apt-cache search --names-only). */
  async search(pattern: string): Promise<string[]> {
    const stdout = await this.aptCache('search', '--names-only', pattern);
    return stdout
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter(Boolean);
  }

  /** Downloads `pkg=version` .debs into `dest`; returns their paths. */
  async download(pkgs: string[], dest: string): Promise<string[]> {
    await this.update();
    mkdirSync(dest, { recursive: true });
    await execa('apt-get', [...this.options(), '-q', 'download', ...pkgs], { cwd: dest, stdin: 'ignore' });
    const wanted = pkgs.map((p) => p.split('=')[0]!);
    return readdirSync(dest)
      .filter((f) => f.endsWith('.deb') && wanted.some((w) => f.startsWith(`${w}_`)))
      .map((f) => join(dest, f));
  }

  /** apt-get install from these suites (root only). `target` picks the suite to prefer (-t). */
  async install(pkgs: string[], target?: string): Promise<void> {
    await this.update();
    await execa(
      'apt-get',
      [...this.options(), '-q', '-y', '--no-install-recommends', ...(target ? ['-t', target] : []), 'install', ...pkgs],
      {
        stdin: 'ignore',
        env: { DEBIAN_FRONTEND: 'noninteractive' },
      },
    );
  }

  /** The shell commands a non-root user would run for `install`. */
  installCommand(pkgs: string[], target?: string): string {
    const opts = this.options()
      .map((o) => (o.startsWith('-') ? o : `'${o}'`))
      .join(' ');
    const t = target ? `-t ${target} ` : '';
    return `sudo apt-get ${opts} update && sudo DEBIAN_FRONTEND=noninteractive apt-get ${opts} -y --no-install-recommends ${t}install ${pkgs.join(' ')}`;
  }
}
