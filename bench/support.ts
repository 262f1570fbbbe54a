import { cpus, totalmem } from 'node:os';

export interface Figure {
  bench: string;
  metric: string;
  ours: number;
  baseline: number;
  unit: string;
  /** ours / baseline */
  ratio: number;
  goal: string;
  met: boolean;
}

/** Prints one figure and a machine-readable line for bench/run.mjs. */
export function report(figure: Omit<Figure, 'ratio'> & { ratio?: number }): void {
  const ratio = figure.ratio ?? figure.ours / figure.baseline;
  const full: Figure = { ...figure, ratio };
  console.log(
    `${figure.bench} · ${figure.metric}: ours ${format(figure.ours)} ${figure.unit}, baseline ${format(figure.baseline)} ${figure.unit}, ratio ${ratio.toFixed(2)} (goal ${figure.goal}: ${figure.met ? 'met' : 'NOT met'})`,
  );
  console.log(`RESULT ${JSON.stringify(full)}`);
}

function format(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(2);
}

export function machine(): string {
  return `${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GB, Node ${process.version}`;
}

export async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
}

/** Median of `runs` alternating measurements of a and b, so drift hits both equally. */
export async function sideBySide(runs: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<{ a: number; b: number }> {
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < runs; i++) {
    as.push((await time(a)).ms);
    bs.push((await time(b)).ms);
  }
  return { a: median(as), b: median(bs) };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
