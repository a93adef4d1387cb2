/**
 * Confidence intervals for the JVM benchmarks: a mean over windows with a Student-t interval, and
 * the same for a mean of group means (ABBA windows, where each group carries one sign of a bias
 * that the average cancels and that must not widen the interval).
 *
 * @module
 */

/** Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom (standard table). */
const T95 = [
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.160,
  2.145,
  2.131,
  2.120,
  2.110,
  2.101,
  2.093,
  2.086,
  2.080,
  2.074,
  2.069,
  2.064,
  2.060,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042,
];

/** The t quantile for a 95% two-sided interval; beyond the table z + (z³ + z) / 4df. */
export function t95(df: number): number {
  if (df < 1) return NaN;
  if (df <= T95.length) return T95[Math.floor(df) - 1];
  return 1.96 + 2.37 / df;
}

/** An estimate with its 95% interval `[mean - half, mean + half]`. */
export interface Interval {
  mean: number;
  half: number;
  /** Values it came from (NaN values left out). */
  n: number;
}

const finite = (xs: number[]) => xs.filter((x) => Number.isFinite(x));
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]) => {
  const m = avg(xs);
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
};

/** Mean of `xs` with a t-interval (half = NaN with fewer than two values). */
export function meanInterval(xs: number[]): Interval {
  const v = finite(xs);
  if (!v.length) return { mean: NaN, half: NaN, n: 0 };
  const half = v.length < 2 ? NaN : t95(v.length - 1) * Math.sqrt(variance(v) / v.length);
  return { mean: avg(v), half, n: v.length };
}

/**
 * The mean of the groups' means, with an interval from the spread within groups only (pooled,
 * df = values − groups): what differs between groups systematically (a bias of +b in one group
 * and −b in the other) cancels in the estimate and stays out of the interval.
 */
export function groupMeanInterval(groups: number[][]): Interval {
  const gs = groups.map(finite).filter((g) => g.length);
  if (!gs.length) return { mean: NaN, half: NaN, n: 0 };
  const n = gs.reduce((a, g) => a + g.length, 0);
  const mean = avg(gs.map(avg));
  const df = n - gs.length;
  if (df < 1 || gs.some((g) => g.length < 2)) return { mean, half: NaN, n };
  const pooled = gs.reduce((a, g) => a + variance(g) * (g.length - 1), 0) / df;
  const se = Math.sqrt(pooled * gs.reduce((a, g) => a + 1 / g.length, 0)) / gs.length;
  return { mean, half: t95(df) * se, n };
}

/** "m ± h" with `digits` decimals (the interval part left out when there is none). */
export function fmtInterval(i: Interval, digits: number): string {
  if (!Number.isFinite(i.mean)) return "-";
  const m = i.mean.toFixed(digits);
  return Number.isFinite(i.half) ? `${m} ± ${i.half.toFixed(digits)}` : m;
}

/** Is the whole interval at or below `limit` (true), above it (false), or does it straddle it? */
export function verdictAtMost(i: Interval, limit: number): "met" | "NOT met" | "undecided" {
  if (!Number.isFinite(i.mean) || !Number.isFinite(i.half)) return "undecided";
  if (i.mean + i.half <= limit) return "met";
  if (i.mean - i.half > limit) return "NOT met";
  return "undecided";
}

/** A value and its weight (the inverse of its variance). */
export interface Weighted {
  x: number;
  w: number;
}

/**
 * Like {@link groupMeanInterval}, each group's mean weighted by precision (windows the host kept
 * quiet count more than windows it disturbed). The variance of each weighted mean comes from the
 * values' own spread around it (Σ w²(x − m)² / (Σ w)², scaled by n/(n − 1)), not from the
 * weights, so it stays honest when the weights say less than the real noise.
 */
export function weightedGroupMeanInterval(groups: Weighted[][]): Interval {
  const gs = groups.map((g) => g.filter((v) => Number.isFinite(v.x) && v.w > 0 && isFinite(v.w)))
    .filter((g) => g.length);
  if (!gs.length) return { mean: NaN, half: NaN, n: 0 };
  const n = gs.reduce((a, g) => a + g.length, 0);
  const parts = gs.map((g) => {
    const sw = g.reduce((a, v) => a + v.w, 0);
    const m = g.reduce((a, v) => a + v.w * v.x, 0) / sw;
    const spread = g.reduce((a, v) => a + (v.w * (v.x - m)) ** 2, 0) / sw ** 2;
    return { m, v: g.length < 2 ? NaN : spread * g.length / (g.length - 1) };
  });
  const mean = avg(parts.map((p) => p.m));
  const df = n - gs.length;
  const v = parts.reduce((a, p) => a + p.v, 0) / gs.length ** 2;
  return { mean, half: df < 1 ? NaN : t95(df) * Math.sqrt(v), n };
}
