/** Latency statistics kept at full (sub-millisecond) precision. */

/** A growable list of samples; percentiles are computed once, at the end. */
export class Samples {
  private data = new Float64Array(1024);
  private n = 0;

  add(value: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = value;
  }

  get count(): number {
    return this.n;
  }

  summary(): LatencySummary {
    const sorted = this.data.slice(0, this.n).sort();
    const at = (q: number) => (this.n === 0 ? 0 : round(sorted[Math.min(this.n - 1, Math.ceil(q * this.n) - 1)] ?? 0));
    let sum = 0;
    for (let i = 0; i < this.n; i++) sum += sorted[i] ?? 0;
    return {
      count: this.n,
      mean_ms: this.n ? round(sum / this.n) : 0,
      p50_ms: at(0.5),
      p90_ms: at(0.9),
      p99_ms: at(0.99),
      max_ms: this.n ? round(sorted[this.n - 1] ?? 0) : 0,
    };
  }
}

export interface LatencySummary {
  count: number;
  mean_ms: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function ratio(a: number, b: number): number | null {
  return b > 0 ? round(a / b, 3) : null;
}

export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** How far one figure moved over repeated windows of the same run. */
export function spread(values: number[]): { min: number; median: number; max: number; values: number[] } {
  return {
    min: round(Math.min(...values)),
    median: round(median(values)),
    max: round(Math.max(...values)),
    values: values.map((v) => round(v)),
  };
}
