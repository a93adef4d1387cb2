/**
 * The few assertions demarc's BPF tests use, on top of `node:assert` (deno std is unreachable).
 *
 * @module
 */

import nodeAssert from "node:assert/strict";

/** Asserts `cond` is truthy (narrows its type). */
export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}

/** Deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

/** `actual > floor`. */
export function assertGreater<T extends number | bigint>(actual: T, floor: T, msg?: string): void {
  nodeAssert.ok(actual > floor, msg ?? `expected ${actual} > ${floor}`);
}

/** `re` matches `s`. */
export function assertMatch(s: string, re: RegExp, msg?: string): void {
  nodeAssert.match(s, re, msg);
}

/** `fn` throws an instance of `cls`; returns the error for further checks. */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  cls: new (...args: any[]) => E,
  msg?: string,
): E {
  try {
    fn();
  } catch (e) {
    nodeAssert.ok(e instanceof cls, `${msg ?? ""} threw ${e} instead of ${cls.name}`);
    return e;
  }
  throw new nodeAssert.AssertionError({
    message: `${msg ?? "expected"}: did not throw ${cls.name}`,
  });
}
