/**
 * The agent ⇄ runner channel's framing (java/PROTOCOL.md): `u32 length` (big endian, bytes after
 * the length field) · `u8 type` · UTF-8 JSON payload.
 *
 * @module
 */

/** Frame types of the channel. */
export const FrameType = {
  HELLO: 1,
  CONFIG: 2,
  METRICS: 3,
  SPANS: 4,
  DETACH: 5,
  BYE: 6,
  INSTRUMENTATIONS: 7,
} as const;

export type FrameTypeCode = typeof FrameType[keyof typeof FrameType];

/** Largest frame either side accepts (bytes after the length field). */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** One decoded frame. */
export interface Frame {
  type: number;
  payload: Record<string, unknown>;
}

/** The peer sent bytes that are not a valid frame; the connection must be closed. */
export class FrameError extends Error {
  override name = "FrameError";
  constructor(message: string, options?: ErrorOptions) {
    super(
      `${message} (hint: the peer does not speak java/PROTOCOL.md; agent and runner versions may differ)`,
      options,
    );
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encode one frame.
 *
 * @param type frame type (see {@link FrameType})
 * @param payload JSON object
 * @returns the bytes to write
 * @throws {FrameError} when the encoded payload exceeds {@link MAX_FRAME_BYTES}
 */
export function encodeFrame(type: FrameTypeCode, payload: Record<string, unknown>): Uint8Array {
  const body = encoder.encode(JSON.stringify(payload));
  const length = body.length + 1;
  if (length > MAX_FRAME_BYTES) {
    throw new FrameError(`frame of ${length} bytes exceeds ${MAX_FRAME_BYTES}`);
  }
  const out = new Uint8Array(5 + body.length);
  new DataView(out.buffer).setUint32(0, length, false);
  out[4] = type;
  out.set(body, 5);
  return out;
}

/**
 * Incremental decoder: feed it whatever a socket read returned and take out complete frames.
 *
 * @example
 * const r = new FrameReader();
 * for (const f of r.push(chunk)) handle(f);
 */
export class FrameReader {
  #buf = new Uint8Array(0);

  /**
   * Append bytes and return every frame now complete.
   *
   * @throws {FrameError} on an oversized or empty frame, or a payload that is not a JSON object
   */
  push(chunk: Uint8Array): Frame[] {
    const joined = new Uint8Array(this.#buf.length + chunk.length);
    joined.set(this.#buf, 0);
    joined.set(chunk, this.#buf.length);
    const frames: Frame[] = [];
    let at = 0;
    const view = new DataView(joined.buffer);
    while (joined.length - at >= 4) {
      const length = view.getUint32(at, false);
      if (length < 1 || length > MAX_FRAME_BYTES) {
        throw new FrameError(`frame length ${length} is outside 1..${MAX_FRAME_BYTES}`);
      }
      if (joined.length - at - 4 < length) break;
      const type = joined[at + 4];
      const body = joined.subarray(at + 5, at + 4 + length);
      frames.push({ type, payload: parsePayload(type, body) });
      at += 4 + length;
    }
    this.#buf = joined.slice(at);
    return frames;
  }

  /** Bytes held back waiting for the rest of a frame. */
  get pending(): number {
    return this.#buf.length;
  }
}

function parsePayload(type: number, body: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.length ? decoder.decode(body) : "{}");
  } catch (e) {
    throw new FrameError(`frame type ${type} carries a payload that is not UTF-8 JSON`, {
      cause: e,
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FrameError(`frame type ${type} carries a payload that is not a JSON object`);
  }
  return value as Record<string, unknown>;
}
