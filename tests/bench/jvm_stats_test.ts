/** The intervals the JVM overhead bench reports, checked against values worked out by hand. */
import { assert, assertEquals } from "../helpers/assert.ts";
import {
  groupMeanInterval,
  meanInterval,
  t95,
  verdictAtMost,
  weightedGroupMeanInterval,
} from "../../bench/jvm_stats.ts";

const near = (a: number, b: number) => assert(Math.abs(a - b) < 1e-3, `${a} is not ${b}`);

Deno.test("meanInterval: t(3) × s/√n for 1, 2, 3, 4", () => {
  const i = meanInterval([1, 2, 3, 4, NaN]);
  assertEquals(i.n, 4);
  near(i.mean, 2.5);
  near(i.half, 3.182 * Math.sqrt(5 / 3 / 4));
  assert(Number.isNaN(meanInterval([7]).half), "one value has no interval");
});

Deno.test("groupMeanInterval: a ±b bias between groups cancels and stays out of the interval", () => {
  // Added cost 2 with a pair bias of +10 in one group and −10 in the other.
  const i = groupMeanInterval([[11, 12, 13], [-9, -8, -7]]);
  near(i.mean, 2);
  // Pooled variance 1, se = √(1/3 + 1/3) / 2, t(4) = 2.776.
  near(i.half, 2.776 * Math.sqrt(2 / 3) / 2);
  assert(i.half < meanInterval([11, 12, 13, -9, -8, -7]).half / 5, "bias widened the interval");
});

Deno.test("weightedGroupMeanInterval: equal weights give the unweighted interval", () => {
  const w = (xs: number[]) => xs.map((x) => ({ x, w: 3 }));
  const i = weightedGroupMeanInterval([w([11, 12, 13]), w([-9, -8, -7])]);
  const u = groupMeanInterval([[11, 12, 13], [-9, -8, -7]]);
  near(i.mean, u.mean);
  near(i.half, u.half);
});

Deno.test("weightedGroupMeanInterval: a noisy window with a small weight barely moves the mean", () => {
  const i = weightedGroupMeanInterval([[{ x: 1, w: 100 }, { x: 1.2, w: 100 }, { x: 60, w: 0.01 }]]);
  assert(i.mean < 1.2, `mean ${i.mean}`);
  assert(i.mean > 1, `mean ${i.mean}`);
});

Deno.test("t95 and verdicts", () => {
  near(t95(1), 12.706);
  near(t95(30), 2.042);
  assert(t95(31) < 2.042 && t95(31) > 1.96, "beyond the table between z and t(30)");
  assertEquals(verdictAtMost({ mean: 1, half: 0.5, n: 8 }, 2), "met");
  assertEquals(verdictAtMost({ mean: 3, half: 0.5, n: 8 }, 2), "NOT met");
  assertEquals(verdictAtMost({ mean: 1.8, half: 0.5, n: 8 }, 2), "undecided");
});
