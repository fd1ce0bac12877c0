// The report formats: JUnit that parses, and an HTML timeline that a real
// browser (headless Chromium) renders with its chart and failure marks.

import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { htmlTimeline } from '../../orchestrator/reports/html.js';
import { junitReport } from '../../orchestrator/reports/junit.js';
import { KtapReporter, resultLine } from '../../orchestrator/reports/ktap.js';
import type { IterationOutcome, StepOutcome } from '../../orchestrator/run/outcome.js';
import { haveChromium, renderedDom, screenshot } from './helpers/chromium.js';
import { countColour } from './helpers/png.js';

function soak(n: number, failing: number[]): { iterations: IterationOutcome[]; steps: StepOutcome[] } {
  const iterations: IterationOutcome[] = [];
  const steps: StepOutcome[] = [];
  for (let i = 1; i <= n; i++) {
    const failed = failing.includes(i);
    iterations.push({
      target: 'vm',
      iteration: i,
      verdict: failed ? 'fail' : 'pass',
      ms: 12_000,
      metrics: {
        blackoutMs: 9000 + ((i * 37) % 1500),
        kernelBlackoutMs: 3000,
        userspaceMs: 6000 + ((i * 37) % 1500),
        agentRssBytes: 60 * 2 ** 20 + i * 2 ** 18,
        verifyGBps: 1 + ((i * 13) % 10) / 20,
        msiLatencyMs: 0.02 + ((i * 7) % 5) / 1000,
        dmaBytes: 128 * 2 ** 20,
      },
    });
    steps.push({
      target: 'vm',
      iteration: i,
      step: 1,
      kind: 'verify',
      label: 'verify dst <&>',
      verdict: failed ? 'fail' : 'pass',
      reason: failed ? 'buffer dst: 1 corrupt byte(s) in 1 page(s)' : '',
      startedAt: 0,
      ms: 250,
      ...(failed ? { excerpt: ['[ 1.0] BUG: <oops> & more'] } : {}),
    });
  }
  return { iterations, steps };
}

t.test('KTAP result lines: descriptions never carry a # or a newline', async (t) => {
  t.equal(resultLine(3, 'pass', 'verify a', ''), 'ok 3 verify a');
  t.equal(resultLine(3, 'fail', 'step #2\nnext', 'why'), 'not ok 3 step no.2 next # why');
  t.equal(resultLine(1, 'skip', 'preserve', 'not supported # here'), 'ok 1 preserve # SKIP not supported no. here');
});

t.test('JUnit: one testcase per step, failures with their console excerpt, XML escaped', async (t) => {
  const { steps } = soak(5, [3]);
  const xml = junitReport('soak', steps);
  t.equal(xml.match(/<testcase /g)?.length, 5);
  t.match(xml, /<testsuite name="soak.vm" tests="5" failures="1" skipped="0"/);
  t.match(
    xml,
    /<failure message="buffer dst: 1 corrupt byte\(s\) in 1 page\(s\)">buffer dst[^<]*console:\n\[ 1.0\] BUG: &lt;oops&gt; &amp; more<\/failure>/,
  );
  t.notMatch(xml, /<&>/, 'labels are escaped');
});

t.test("JUnit: a reboot's testcase carries the blackout and its breakdown as properties", async (t) => {
  const exec: StepOutcome = {
    target: 'vm',
    iteration: 1,
    step: 7,
    kind: 'kexec-exec',
    label: 'kexec-exec',
    verdict: 'pass',
    reason: '',
    startedAt: 0,
    ms: 9000,
    detail: { blackoutMs: 9000, breakdown: { kernelMs: 3700, agentMs: 4000 }, bootId: 'x' },
  };
  const xml = junitReport('soak', [exec]);
  t.match(
    xml,
    /<testcase [^>]*name="1\.7 kexec-exec" time="9\.000">\n {6}<properties>\n {8}<property name="blackoutMs" value="9000"\/>\n {8}<property name="kernelMs" value="3700"\/>\n {8}<property name="agentMs" value="4000"\/>\n {6}<\/properties>\n {4}<\/testcase>/,
  );
  t.notMatch(xml, /bootId/, 'only figures become properties');
});

t.test("KTAP: a boot's LUO verdicts where its build was probed, else the boot that was", async (t) => {
  let out = '';
  const r = new KtapReporter((text) => (out += text), ['vm'], 2, 1, 7);
  r.boot('vm', { bootId: 'b1', release: '7.2.13-lustress', luoPreserves: { memfd: 'ok', iommufd: 'EOPNOTSUPP' } });
  r.boot('vm', { bootId: 'b2', release: '7.2.13-lustress', sameBuildAs: 'b1' });
  t.match(
    out,
    /\n {2}# vm: boot b1, kernel 7\.2\.13-lustress\n {2}# vm: LUO preserves: memfd ok; iommufd EOPNOTSUPP\n/,
  );
  t.match(
    out,
    /\n {2}# vm: boot b2, kernel 7\.2\.13-lustress\n {2}# vm: the kernel build of boot b1, not probed again\n/,
  );
  t.equal(out.match(/LUO preserves/g)?.length, 1, 'the verdicts are not repeated for the same build');
});

t.test('the HTML timeline renders in headless Chromium with its chart and failure marks', async (t) => {
  if (!haveChromium(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'lustress-html-'));
  const { iterations, steps } = soak(60, [7, 41]);
  const html = htmlTimeline('soak', iterations, steps, 1234);
  t.notMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/, 'self-contained: no script, nothing fetched');
  const page = join(dir, 'timeline.html');
  writeFileSync(page, html);
  const img = await screenshot(t, page, dir, 1000, 1200);
  t.equal(img.width, 1000);
  t.ok(countColour(img, [0xdd, 0x22, 0x22]) > 20, 'failed iterations are painted red');
  t.ok(countColour(img, [0x33, 0x66, 0xcc]) > 300, 'the blackout line and points are painted');
  t.match(html, /<polyline class="kernelBlackoutMs" [^>]*points="[\d., ]{100,}"/, "the kernel's part is drawn too");
  for (const figure of ['agentRssBytes', 'verifyGBps', 'msiLatencyMs', 'dmaBytes'])
    t.match(html, new RegExp(`<polyline class="${figure}" [^>]*points="[\\d., ]{100,}"`), `${figure} is plotted`);
  t.match(html, /agent RSS \(a leak climbs\) per iteration \(60 iterations, 2 failed\)/);
  t.match(html, /<title>iteration 60: pass, agent RSS \(a leak climbs\) 75\.0 MiB<\/title>/, 'RSS in MiB');
  t.match(html, /<title>iteration 2: pass, MSI latency 24\.0 µs<\/title>/, 'MSI latency in µs');
  t.match(html, /dashed: the kernel's part, exec to init/);
  const dom = await renderedDom(page, dir);
  t.equal(dom.match(/<circle class="fail"/g)?.length, 2 * 5, 'two failure marks on each of the five charts');
  t.equal(dom.match(/<svg /g)?.length, 5, 'blackout, RSS, verify, MSI and DMA charts');
  t.match(dom, /60 iterations: 58 passed, 2 did not\. Seed 1234\./);
});
