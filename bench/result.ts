// What every benchmark reports: its figure, a reference measured in the same
// run, and their ratio.

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  reference: number;
  /** value / reference */
  ratio: number;
  note: string;
}
