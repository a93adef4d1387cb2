package io.demarc.agent.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * PROTOCOL.md framing: {@code u32 length (big endian, bytes after it) · u8 type · JSON payload}.
 * A frame over 4 MiB is a protocol error: the reader closes the connection.
 */
public final class Frames {
  public static final int HELLO = 1;
  public static final int CONFIG = 2;
  public static final int METRICS = 3;
  public static final int SPANS = 4;
  public static final int DETACH = 5;
  public static final int BYE = 6;
  public static final int INSTRUMENTATIONS = 7;
  public static final int MAX_FRAME = 4 << 20;

  private Frames() {}

  public static ByteBuffer encode(int type, String json) {
    byte[] payload = json.getBytes(StandardCharsets.UTF_8);
    if (payload.length + 1 > MAX_FRAME) throw new IllegalArgumentException("frame too large: " + payload.length);
    ByteBuffer b = ByteBuffer.allocate(5 + payload.length);
    b.putInt(payload.length + 1).put((byte) type).put(payload).flip();
    return b;
  }

  /** One decoded frame. */
  public record Frame(int type, String json) {}

  /**
   * Incremental decoder: feed bytes as they arrive, take complete frames out.
   */
  public static final class Decoder {
    private ByteBuffer buf = ByteBuffer.allocate(8192);

    /** Appends received bytes (buffer in read mode). */
    public void feed(ByteBuffer in) {
      if (buf.remaining() < in.remaining()) {
        ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + in.remaining()));
        buf.flip();
        bigger.put(buf);
        buf = bigger;
      }
      buf.put(in);
    }

    /** The next complete frame, or null if more bytes are needed. */
    public Frame next() throws IOException {
      if (buf.position() < 4) return null;
      int len = buf.getInt(0);
      if (len < 1 || len > MAX_FRAME) throw new IOException("bad frame length " + len);
      if (buf.position() < 4 + len) return null;
      int type = buf.get(4) & 0xff;
      String json = new String(buf.array(), 5, len - 1, StandardCharsets.UTF_8);
      buf.flip();
      buf.position(4 + len);
      buf.compact();
      return new Frame(type, json);
    }
  }
}
