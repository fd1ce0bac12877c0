// The kernel log as the agent and the drivers read it, on this machine's own
// /dev/kmsg: records in order with their timestamps, a record written after
// opening at the end is the one read, init's start as the kernel logged it
// moved onto the uptime clock, the same records found by a look back through
// the log's newest end or the whole log, and how far the log's clock runs
// ahead.

import t, { type Test } from 'tap';
import { appendFileSync } from 'node:fs';
import { gatherHello } from '../../agents/facts.js';
import { KernelLog, lastLoggedUsec, logClockLeadMs, type KmsgRecord } from '../../sys/kmsg.js';
import { kernelLogText } from '../../sys/libc.js';
import { prerequisiteMissing } from './helpers/prerequisite.js';

function opened(t: Test, from: 'start' | 'end'): KernelLog | undefined {
  try {
    return KernelLog.open(from);
  } catch (e) {
    prerequisiteMissing(t, `/dev/kmsg cannot be read here (${(e as Error).message}); the tests run as root`);
    return undefined;
  }
}

t.test('from the start: every record kept, in order, with its time', async (t) => {
  const log = opened(t, 'start');
  if (!log) return;
  const records: KmsgRecord[] = [];
  log.read((r) => void records.push(r));
  log.close();
  t.ok(records.length > 10, `${records.length} records`);
  t.ok(
    records.every((r, i) => Number.isFinite(r.usec) && (i === 0 || r.usec >= records[i - 1]!.usec)),
    'timestamps are numbers and never go back',
  );
  t.ok(
    records.every((r) => !r.message.includes('\n')),
    'a message is its first line only',
  );
  const init = records.find((r) => /^Run \S+ as init process$/.test(r.message));
  t.ok(init, "the kernel's record of executing init is kept", { first: records.slice(0, 3) });
  t.ok(
    kernelLogText().length > 4096,
    "this machine's log is longer than the tail read first: init's record is found by the whole-log read",
  );
  const initMs = gatherHello(false).startup!.initMs;
  const onUptimeClock = init!.usec / 1000 - logClockLeadMs()!;
  t.ok(
    Math.abs(initMs - onUptimeClock) <= 2,
    `the hello's init start (${initMs} ms) is that record's time on the uptime clock (${onUptimeClock.toFixed(1)}), not pid 1's (which is earlier)`,
  );
});

t.test('from the end: only what is logged after opening, and stopping early', async (t) => {
  const log = opened(t, 'end');
  if (!log) return;
  const seen: string[] = [];
  log.read((r) => void seen.push(r.message));
  t.same(seen, [], 'nothing old');
  const mark = `lustress kmsg test ${process.pid} ${Date.now()}`;
  appendFileSync('/dev/kmsg', `${mark} a\n`);
  appendFileSync('/dev/kmsg', `${mark} b\n`);
  log.read((r) => {
    seen.push(r.message);
    return true;
  });
  t.same(seen, [`${mark} a`], 'the first new record, and no further when told to stop');
  log.read((r) => void seen.push(r.message));
  t.same(seen, [`${mark} a`, `${mark} b`], 'the next read goes on after it');
  log.close();
});

t.test('a look back through the log finds the newest matching record, at its time', async (t) => {
  const log = opened(t, 'end');
  if (!log) return;
  const mark = `lustress klogctl test ${process.pid} ${Date.now()}`;
  appendFileSync('/dev/kmsg', `${mark} first\n`);
  appendFileSync('/dev/kmsg', `${mark} second\n`);
  const records: KmsgRecord[] = [];
  log.read((r) => void records.push(r));
  log.close();
  const first = records.find((r) => r.message === `${mark} first`);
  t.ok(first, 'the record is in /dev/kmsg');
  const second = records.find((r) => r.message === `${mark} second`);
  t.equal(lastLoggedUsec(new RegExp(`${mark} \\S+`)), second!.usec, 'the later of the two, to the microsecond');
  t.equal(lastLoggedUsec(new RegExp(`${mark} first`)), first!.usec, 'each at its own time');
  t.equal(lastLoggedUsec(new RegExp(`${mark} fir`)), undefined, 'a pattern matches whole messages only');
  t.equal(lastLoggedUsec(new RegExp(`${mark} third`)), undefined, 'nothing for a message never logged');
});

t.test(
  "the log's clock against the uptime clock: a record logged between two readings of it falls between them",
  async (t) => {
    const log = opened(t, 'end');
    if (!log) return;
    const leadMs = logClockLeadMs()!;
    t.ok(Number.isFinite(leadMs), `the log's clock runs ${leadMs.toFixed(2)} ms ahead`);
    t.ok(Math.abs(logClockLeadMs()! - leadMs) < 2, 'the same again, within the time two writes take');
    const mark = `lustress clock test ${process.pid} ${Date.now()}`;
    const before = Number(process.hrtime.bigint()) / 1e6;
    appendFileSync('/dev/kmsg', `<7>${mark}\n`);
    const after = Number(process.hrtime.bigint()) / 1e6;
    let usec: number | undefined;
    log.read((r) => {
      if (r.message === mark) usec = r.usec;
    });
    log.close();
    const at = usec! / 1000 - leadMs;
    t.ok(
      at >= before - 1 && at <= after + 1,
      `logged at ${at.toFixed(2)} ms, between ${before.toFixed(2)} and ${after.toFixed(2)}`,
    );
  },
);
