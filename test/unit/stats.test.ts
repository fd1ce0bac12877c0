import t from 'tap';
import { distribution, seededRandom, targetSeed } from '../../orchestrator/run/stats.js';

t.test('the same seed replays the same jitter; another seed does not', async (t) => {
  const draw = (seed: number) => Array.from({ length: 50 }, seededRandom(seed));
  t.same(draw(42), draw(42));
  t.not(draw(42).join(), draw(43).join());
  t.ok(
    draw(7).every((x) => x >= 0 && x < 1),
    'values lie in [0, 1)',
  );
  const mean = draw(9).reduce((a, b) => a + b, 0) / 50;
  t.ok(mean > 0.3 && mean < 0.7, `roughly uniform (mean ${mean.toFixed(2)})`);
});

t.test('each target gets its own stream from the run seed', async (t) => {
  t.equal(targetSeed(1, 'a'), targetSeed(1, 'a'));
  t.not(targetSeed(1, 'a'), targetSeed(1, 'b'));
  t.not(targetSeed(1, 'a'), targetSeed(2, 'a'));
});

t.test('percentiles by nearest rank', async (t) => {
  t.equal(distribution([]), undefined);
  t.same(distribution([5]), { n: 1, p50: 5, p95: 5, max: 5 });
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
  t.same(distribution(hundred), { n: 100, p50: 50, p95: 95, max: 100 });
  t.same(distribution([3, 1, 2, 10]), { n: 4, p50: 2, p95: 10, max: 10 });
});
