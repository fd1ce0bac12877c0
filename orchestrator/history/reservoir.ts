// A bounded, seeded sample of a stream of values (Vitter's Algorithm R):
// every value seen has the same chance of being kept, memory stays at the
// sample's size however long the run, and the same seed keeps the same
// values, so a digest (and a comparison built on it) reads alike every time.

import { seededRandom } from '../run/stats.js';

export class Reservoir {
  readonly values: number[] = [];
  /** How many values were offered. */
  seen = 0;
  private readonly random: () => number;

  constructor(
    private readonly size: number,
    seed: number,
  ) {
    this.random = seededRandom(seed);
  }

  /** Offers one value: kept outright until the sample is full, then with probability size/seen in a random slot. */
  add(value: number): void {
    this.seen++;
    if (this.values.length < this.size) {
      this.values.push(value);
      return;
    }
    const slot = Math.floor(this.random() * this.seen);
    if (slot < this.size) this.values[slot] = value;
  }
}
