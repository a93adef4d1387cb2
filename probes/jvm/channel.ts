/**
 * The runner side of one JVM's channel (java/PROTOCOL.md): a unix socket the runner binds where
 * the JVM can reach it, owned by the JVM's user, mode 0600. The agent connects, proves the
 * per-attach secret in HELLO, gets CONFIG, then streams METRICS and SPANS. When the runner
 * restarts it binds the same path again and the agent reconnects.
 *
 * @module
 */

import { encodeFrame, type Frame, FrameError, FrameReader, FrameType } from "./frames.ts";
import { type AgentConfig, type Hello, helloSchema } from "./messages.ts";

/** What a channel reports to its owner. */
export interface ChannelHandlers {
  /** A HELLO with the right secret arrived; the channel now talks to this agent. */
  onHello(hello: Hello): void;
  /** A METRICS, SPANS or BYE frame from the authenticated agent. */
  onFrame(frame: Frame): void;
  /** The authenticated agent's connection closed (it may reconnect). */
  onDisconnect(reason: string): void;
  /** Something worth a log line (bad secret, broken frame...). */
  onWarning(message: string): void;
}

/** Where to bind and who may connect. */
export interface ChannelOptions {
  /** Socket path as the runner sees it (`/proc/<pid>/root/tmp/...`). */
  hostPath: string;
  /** Owner of the socket file: the JVM's effective uid/gid. */
  uid: number;
  gid: number;
  /** The per-attach secret the agent must present in HELLO. */
  secret: string;
  /** How long a new connection may take to send HELLO. */
  helloTimeoutMs?: number;
}

/** Binding the channel socket failed; says where and why. */
export class ChannelError extends Error {
  override name = "ChannelError";
}

/** Compare two strings in time independent of where they differ. */
function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * One listening channel for one JVM.
 *
 * @example
 * const ch = new Channel({ hostPath, uid, gid, secret }, handlers);
 * await ch.listen();
 * ch.sendConfig(cfg);
 */
export class Channel {
  readonly #o: Required<ChannelOptions>;
  readonly #h: ChannelHandlers;
  #listener: Deno.Listener | undefined;
  #conn: Deno.Conn | undefined;
  #pending = new Set<Deno.Conn>();
  #closed = false;
  #gone: (() => void) | undefined;

  constructor(opts: ChannelOptions, handlers: ChannelHandlers) {
    this.#o = { helloTimeoutMs: 10_000, ...opts };
    this.#h = handlers;
  }

  /** True while an authenticated agent is connected. */
  get connected(): boolean {
    return this.#conn !== undefined;
  }

  /**
   * Bind the socket (replacing a stale file at the path), chown it to the JVM's user, mode 0600.
   *
   * @throws {ChannelError} when the directory is unreachable or the bind fails
   */
  async listen(): Promise<void> {
    const path = this.#o.hostPath;
    try {
      await Deno.remove(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new ChannelError(`cannot remove stale socket ${path}: ${(e as Error).message}`, {
          cause: e,
        });
      }
    }
    try {
      this.#listener = Deno.listen({ transport: "unix", path });
      await Deno.chmod(path, 0o600);
      await Deno.chown(path, this.#o.uid, this.#o.gid);
    } catch (e) {
      this.#listener?.close();
      this.#listener = undefined;
      throw new ChannelError(
        `cannot bind the agent channel at ${path}: ${(e as Error).message} ` +
          `(hint: the JVM's /tmp must be reachable through /proc/<pid>/root and the runner must run as root)`,
        { cause: e },
      );
    }
    void this.#acceptLoop(this.#listener);
  }

  async #acceptLoop(listener: Deno.Listener): Promise<void> {
    try {
      for await (const conn of listener) {
        if (this.#closed) {
          conn.close();
          break;
        }
        void this.#serve(conn);
      }
    } catch (e) {
      if (!this.#closed) this.#h.onWarning(`channel accept failed: ${(e as Error).message}`);
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    this.#pending.add(conn);
    const reader = new FrameReader();
    const buf = new Uint8Array(64 * 1024);
    let authed = false;
    const timer = setTimeout(() => {
      if (!authed) {
        this.#h.onWarning("a connection sent no HELLO in time; closed");
        safeClose(conn);
      }
    }, this.#o.helloTimeoutMs);
    let reason = "closed by the agent";
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        for (const frame of reader.push(buf.subarray(0, n))) {
          if (!authed) {
            authed = this.#authenticate(conn, frame);
            if (!authed) return;
            clearTimeout(timer);
          } else {
            this.#h.onFrame(frame);
          }
        }
      }
    } catch (e) {
      reason = e instanceof FrameError ? e.message : `read failed: ${(e as Error).message}`;
      if (!this.#closed && !(e instanceof Deno.errors.BadResource)) this.#h.onWarning(reason);
    } finally {
      clearTimeout(timer);
      this.#pending.delete(conn);
      safeClose(conn);
      if (this.#conn === conn) {
        this.#conn = undefined;
        this.#gone?.();
        if (!this.#closed) this.#h.onDisconnect(reason);
      }
    }
  }

  #authenticate(conn: Deno.Conn, frame: Frame): boolean {
    if (frame.type !== FrameType.HELLO) {
      this.#h.onWarning(`first frame has type ${frame.type}, expected HELLO; closed`);
      safeClose(conn);
      return false;
    }
    const hello = helloSchema.safeParse(frame.payload);
    if (!hello.success || !sameSecret(hello.data.secret, this.#o.secret)) {
      this.#h.onWarning("HELLO with a wrong secret or shape; closed without answer");
      safeClose(conn);
      return false;
    }
    const previous = this.#conn;
    this.#conn = conn;
    if (previous) safeClose(previous);
    this.#h.onHello(hello.data);
    return true;
  }

  /** Send CONFIG to the connected agent (no-op while none is); the owner re-sends after HELLO. */
  sendConfig(config: AgentConfig): void {
    if (this.#conn) void this.#write(FrameType.CONFIG, { ...config });
  }

  /**
   * Ask the agent to uninstall itself and wait until it closes (BYE) or `timeoutMs` passes.
   *
   * @returns true when the agent received DETACH and closed its end
   */
  async detach(timeoutMs = 5000): Promise<boolean> {
    if (!this.#conn) return false;
    const gone = new Promise<void>((resolve) => this.#gone = resolve);
    if (!await this.#write(FrameType.DETACH, {})) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) =>
      timer = setTimeout(() => resolve(false), timeoutMs)
    );
    const ok = await Promise.race([gone.then(() => true as const), timeout]);
    clearTimeout(timer);
    return ok;
  }

  async #write(
    type: typeof FrameType[keyof typeof FrameType],
    payload: Record<string, unknown>,
  ): Promise<boolean> {
    const conn = this.#conn;
    if (!conn) return false;
    const bytes = encodeFrame(type, payload);
    try {
      let off = 0;
      while (off < bytes.length) off += await conn.write(bytes.subarray(off));
      return true;
    } catch (e) {
      this.#h.onWarning(`write to agent failed: ${(e as Error).message}`);
      safeClose(conn);
      return false;
    }
  }

  /**
   * Stop listening, close connections and remove the socket file. Safe to call twice.
   *
   * @param keepFile leave the socket path alone (the runner restarts and binds it again)
   */
  async close(keepFile = false): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener?.close();
    } catch { /* already closed */ }
    if (this.#conn) safeClose(this.#conn);
    for (const c of this.#pending) safeClose(c);
    this.#conn = undefined;
    if (!keepFile) await Deno.remove(this.#o.hostPath).catch(() => {});
  }
}

function safeClose(c: Deno.Conn): void {
  try {
    c.close();
  } catch { /* already closed */ }
}
