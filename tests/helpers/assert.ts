/**
 * Assertions for Deno.test (deno std is unreachable here), on top of node:assert.
 *
 * @module
 */

import nodeAssert from "node:assert/strict";

/** Deep strict equality. */
export function assertEquals<T>(actual: unknown, expected: T, msg?: string): asserts actual is T {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  nodeAssert.ok(cond, msg);
}

/** `actual` contains `part`. */
export function assertIncludes(actual: string, part: string, msg?: string): void {
  if (!actual.includes(part)) {
    throw new nodeAssert.AssertionError({
      message: msg ??
        `expected to find ${JSON.stringify(part)} in ${JSON.stringify(actual.slice(0, 2000))}`,
    });
  }
}

/** |actual - expected| <= tolerance (absolute), or within `relative` of expected. */
export function assertNear(
  actual: number,
  expected: number,
  opts: { abs?: number; rel?: number },
  msg?: string,
): void {
  const tol = Math.max(opts.abs ?? 0, Math.abs(expected) * (opts.rel ?? 0));
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new nodeAssert.AssertionError({
      message: `${msg ? msg + ": " : ""}${actual} is not within ${tol} of ${expected}`,
    });
  }
}

/**
 * `fn` throws an instance of `cls` whose message includes `msgIncludes`; returns the error.
 */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  cls: new (...a: never[]) => E,
  msgIncludes?: string,
): E {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof cls)) {
      throw new nodeAssert.AssertionError({ message: `expected ${cls.name}, got ${e}` });
    }
    if (msgIncludes && !e.message.includes(msgIncludes)) {
      throw new nodeAssert.AssertionError({
        message: `expected "${msgIncludes}" in "${e.message}"`,
      });
    }
    return e;
  }
  throw new nodeAssert.AssertionError({ message: `expected ${cls.name} to be thrown` });
}

/** Async variant of {@link assertThrows}. */
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  cls: new (...a: never[]) => E,
  msgIncludes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof cls)) {
      throw new nodeAssert.AssertionError({ message: `expected ${cls.name}, got ${e}` });
    }
    if (msgIncludes && !e.message.includes(msgIncludes)) {
      throw new nodeAssert.AssertionError({
        message: `expected "${msgIncludes}" in "${e.message}"`,
      });
    }
    return e;
  }
  throw new nodeAssert.AssertionError({ message: `expected ${cls.name} to be rejected` });
}
