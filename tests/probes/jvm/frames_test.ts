import assert from "node:assert/strict";
import {
  encodeFrame,
  FrameError,
  FrameReader,
  FrameType,
  MAX_FRAME_BYTES,
} from "../../../probes/jvm/frames.ts";

Deno.test("a frame split across reads comes out whole, once", () => {
  const a = encodeFrame(FrameType.METRICS, { rows: [], periodStartMs: 1, periodEndMs: 2 });
  const b = encodeFrame(FrameType.BYE, { reason: "détach" });
  const all = new Uint8Array([...a, ...b]);
  const r = new FrameReader();
  const got = [
    ...r.push(all.subarray(0, 3)),
    ...r.push(all.subarray(3, a.length + 2)),
    ...r.push(all.subarray(a.length + 2)),
  ];
  assert.deepEqual(got.map((f) => f.type), [FrameType.METRICS, FrameType.BYE]);
  assert.deepEqual(got[1].payload, { reason: "détach" });
  assert.equal(r.pending, 0);
});

Deno.test("the length field is big endian and counts the type byte", () => {
  const f = encodeFrame(FrameType.DETACH, {});
  assert.deepEqual([...f], [0, 0, 0, 3, 5, 0x7b, 0x7d]);
});

Deno.test("a frame longer than 4 MiB is refused before it is buffered", () => {
  const head = new Uint8Array(5);
  new DataView(head.buffer).setUint32(0, MAX_FRAME_BYTES + 1);
  assert.throws(() => new FrameReader().push(head), FrameError);
});

Deno.test("a payload that is not a JSON object is a FrameError", () => {
  const body = new TextEncoder().encode("[1,2]");
  const f = new Uint8Array(5 + body.length);
  new DataView(f.buffer).setUint32(0, body.length + 1);
  f[4] = 3;
  f.set(body, 5);
  assert.throws(() => new FrameReader().push(f), /not a JSON object/);
});
