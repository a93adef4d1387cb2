/**
 * What the runner remembers about each attached JVM (in the probe's KV space), so that after a
 * runner restart it binds the same socket with the same secret, the agent reconnects, and the
 * JVM is never attached twice.
 *
 * @module
 */

import type { ProbeState } from "../../runner/probe_api.ts";

/** One attachment, persisted before the helper runs (a crash mid-attach must not attach twice). */
export interface AttachRecord {
  pid: number;
  /** /proc/<pid>/stat start time: a recycled pid has another one. */
  startTicks: number;
  uid: number;
  gid: number;
  /** Socket path as the runner binds it (`/proc/<pid>/root/tmp/...`). */
  hostPath: string;
  /** Socket path as the JVM sees it (`/tmp/...`). */
  innerPath: string;
  secret: string;
  agentVersion: string;
  attachedAt: string;
}

const key = (pid: number) => ["attach", String(pid)];

/** Typed access to the attach records of the JVM probe. */
export class AttachStore {
  readonly #s: ProbeState;
  constructor(state: ProbeState) {
    this.#s = state;
  }

  /** The record of `pid`, if any. */
  get(pid: number): Promise<AttachRecord | undefined> {
    return this.#s.get<AttachRecord>(key(pid));
  }

  /** Save (or replace) a record. */
  put(r: AttachRecord): Promise<void> {
    return this.#s.set(key(r.pid), r);
  }

  /** Forget `pid`. */
  delete(pid: number): Promise<void> {
    return this.#s.delete(key(pid));
  }

  /** Every record. */
  async all(): Promise<AttachRecord[]> {
    return (await this.#s.list<AttachRecord>(["attach"])).map((e) => e.value);
  }
}

/** A fresh random secret (128 bits, hex). */
export function newSecret(): string {
  return hex(crypto.getRandomValues(new Uint8Array(16)));
}

/** A short random nonce for socket names. */
export function newNonce(): string {
  return hex(crypto.getRandomValues(new Uint8Array(4)));
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}
