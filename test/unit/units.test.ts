import t from 'tap';
import {
  formatDuration,
  formatSize,
  parseDuration,
  parseSize,
  type Parsed,
} from '../../orchestrator/scenario/units.js';

const ok = (value: number): Parsed => ({ ok: true, value });

/** The failure message, or a note that there was none (which fails the t.match it goes to). */
function messageOf(parsed: Parsed): string {
  return parsed.ok ? `parsed as ${parsed.value}` : parsed.message;
}

t.test('parseSize: every unit', async (t) => {
  const cases: [string, number][] = [
    ['7B', 7],
    ['4KiB', 4096],
    ['64MiB', 64 * 2 ** 20],
    ['1GiB', 2 ** 30],
    ['2TiB', 2 * 2 ** 40],
    ['3kB', 3000],
    ['3KB', 3000],
    ['5MB', 5e6],
    ['1GB', 1e9],
    ['1TB', 1e12],
    ['4K', 4096],
    ['2M', 2 * 2 ** 20],
    ['1G', 2 ** 30],
    ['1T', 2 ** 40],
  ];
  for (const [text, bytes] of cases) t.same(parseSize(text), ok(bytes), text);
});

t.test('parseSize: bare integers are bytes, spaces around are allowed', async (t) => {
  t.same(parseSize(4096), ok(4096), 'a YAML integer');
  t.same(parseSize('4096'), ok(4096), 'a string of digits');
  t.same(parseSize(' 4 KiB '), ok(4096), 'spaces around and between');
  t.same(parseSize(Number.MAX_SAFE_INTEGER), ok(Number.MAX_SAFE_INTEGER), 'the largest exact integer');
});

t.test('parseSize: fractions must come to whole bytes', async (t) => {
  t.same(parseSize('1.5KiB'), ok(1536));
  t.same(parseSize('0.5MiB'), ok(2 ** 19));
  t.match(messageOf(parseSize('1.0001KiB')), '"1.0001KiB" is not a whole number of bytes');
  t.match(messageOf(parseSize('0.5B')), '"0.5B" is not a whole number of bytes');
  t.match(messageOf(parseSize('2.5')), '"2.5" is not a whole number of bytes');
  t.match(messageOf(parseSize(1.5)), 'a size must be a whole number of bytes, got 1.5');
});

t.test('parseSize: zero and negatives are refused', async (t) => {
  t.match(messageOf(parseSize(0)), 'a size must be positive, got 0');
  t.match(messageOf(parseSize(-1)), 'a size must be positive, got -1');
  t.match(messageOf(parseSize('0')), 'a size must be positive, got "0"');
  t.match(messageOf(parseSize('0KiB')), 'a size must be positive, got "0KiB"');
  t.match(messageOf(parseSize('-4KiB')), 'a size must be positive, got "-4KiB"');
});

t.test('parseSize: sizes beyond exact integers are refused as too large', async (t) => {
  t.match(messageOf(parseSize(2 ** 60)), `a size must be at most ${Number.MAX_SAFE_INTEGER} bytes, got ${2 ** 60}`);
  t.match(messageOf(parseSize('10000TiB')), `"10000TiB" is more than ${Number.MAX_SAFE_INTEGER} bytes`);
});

t.test('parseSize: unknown units name the known ones', async (t) => {
  for (const text of ['4QiB', '4kib', '4 bytes', '4Ki']) {
    t.match(
      messageOf(parseSize(text)),
      `unknown size unit "${text.replace(/^4\s*/, '')}" in "${text}"; use B, KiB, MiB, GiB or TiB`,
      text,
    );
  }
});

t.test('parseSize: text that is not a size at all', async (t) => {
  for (const text of ['', 'KiB', 'four KiB', '4 KiB MiB', '1e3', '0x10']) {
    t.match(
      messageOf(parseSize(text)),
      `expected a size such as 4KiB, 64MiB or 1GiB, got "${text}"`,
      JSON.stringify(text),
    );
  }
  t.match(messageOf(parseSize(true)), 'expected a size such as 64MiB, got boolean true');
  t.match(messageOf(parseSize(null)), 'expected a size such as 64MiB, got null');
  t.match(messageOf(parseSize(['4KiB'])), 'expected a size such as 64MiB, got a list');
});

t.test('parseDuration: every unit, and parts that add up', async (t) => {
  const cases: [string, number][] = [
    ['500ms', 500],
    ['30s', 30_000],
    ['2m', 120_000],
    ['8h', 8 * 3_600_000],
    ['2d', 2 * 86_400_000],
    ['1h30m', 5_400_000],
    ['1d2h3m4s5ms', 86_400_000 + 2 * 3_600_000 + 3 * 60_000 + 4000 + 5],
    ['1.5s', 1500],
    [' 10s ', 10_000],
  ];
  for (const [text, ms] of cases) t.same(parseDuration(text), ok(ms), text);
});

t.test('parseDuration: a bare number is refused with a message naming a unit', async (t) => {
  t.match(messageOf(parseDuration(10)), 'a duration needs a unit (ms, s, m, h, d), e.g. "10s"');
  t.match(messageOf(parseDuration(0)), 'a duration needs a unit (ms, s, m, h, d), e.g. "0s"');
  t.match(messageOf(parseDuration('10')), 'expected a duration such as 500ms, 30s, 2m or 1h30m, got "10"');
  t.match(messageOf(parseDuration('1h30')), 'expected a duration such as 500ms, 30s, 2m or 1h30m, got "1h30"');
});

t.test('parseDuration: zero and negatives are refused', async (t) => {
  t.match(messageOf(parseDuration('0s')), 'a duration must be positive, got "0s"');
  t.match(messageOf(parseDuration('0h0m')), 'a duration must be positive, got "0h0m"');
  t.match(messageOf(parseDuration('-5s')), 'expected a duration such as 500ms, 30s, 2m or 1h30m, got "-5s"');
});

t.test('parseDuration: unknown units name the known ones', async (t) => {
  t.match(messageOf(parseDuration('1y')), 'unknown duration unit "y" in "1y"; use ms, s, m, h or d');
  t.match(messageOf(parseDuration('5min')), 'unknown duration unit "min" in "5min"; use ms, s, m, h or d');
  t.match(messageOf(parseDuration('1h5sec')), 'unknown duration unit "sec" in "1h5sec"');
  t.match(messageOf(parseDuration('10S')), 'expected a duration such as 500ms, 30s, 2m or 1h30m, got "10S"');
});

t.test('parseDuration: values that are not text', async (t) => {
  t.match(messageOf(parseDuration(true)), 'expected a duration such as 30s, got boolean true');
  t.match(messageOf(parseDuration({ s: 1 })), 'expected a duration such as 30s, got a mapping');
  t.match(messageOf(parseDuration('')), 'expected a duration such as 500ms, 30s, 2m or 1h30m, got ""');
});

t.test('formatSize: the largest binary unit that divides exactly', async (t) => {
  t.equal(formatSize(1), '1B');
  t.equal(formatSize(1000), '1000B');
  t.equal(formatSize(4096), '4KiB');
  t.equal(formatSize(1536), '1536B');
  t.equal(formatSize(3 * 2 ** 20), '3MiB');
  t.equal(formatSize(2 ** 30 + 2 ** 20), '1025MiB');
  t.equal(formatSize(2 * 2 ** 40), '2TiB');
});

t.test('formatDuration: milliseconds below a second, then d h m s parts', async (t) => {
  t.equal(formatDuration(0), '0ms');
  t.equal(formatDuration(999), '999ms');
  t.equal(formatDuration(1000), '1s');
  t.equal(formatDuration(5_400_000), '1h30m');
  t.equal(formatDuration(3_600_000 + 1), '1h1ms');
  t.equal(formatDuration(2 ** 31 - 1), '24d20h31m23s647ms');
  t.equal(formatDuration(86_400_000), '1d');
  t.equal(formatDuration(2 * 86_400_000), '2d');
});

t.test('formatted values parse back to themselves', async (t) => {
  for (const bytes of [1, 4095, 4096, 3 * 2 ** 20, 2 ** 40 + 2 ** 30])
    t.same(parseSize(formatSize(bytes)), ok(bytes), String(bytes));
  for (const ms of [1, 999, 1000, 61_001, 5_400_000, 90_061_001])
    t.same(parseDuration(formatDuration(ms)), ok(ms), String(ms));
});
