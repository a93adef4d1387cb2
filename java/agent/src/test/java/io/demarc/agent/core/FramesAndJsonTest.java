package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FramesAndJsonTest {
  @Test
  void aFrameIsLengthTypeAndJsonPayload() {
    ByteBuffer b = Frames.encode(Frames.HELLO, "{\"a\":\"é\"}");
    assertEquals(4 + 1 + 10, b.remaining()); // é is two bytes in UTF-8
    assertEquals(11, b.getInt(0), "length counts the type byte and the payload");
    assertEquals(Frames.HELLO, b.get(4));
  }

  @Test
  void theDecoderReassemblesFramesSplitAnywhere() throws IOException {
    ByteBuffer all = ByteBuffer.allocate(1000);
    all.put(Frames.encode(Frames.CONFIG, "{\"reportPeriodMs\":1000}"));
    all.put(Frames.encode(Frames.DETACH, "{}"));
    all.flip();
    Frames.Decoder d = new Frames.Decoder();
    StringBuilder seen = new StringBuilder();
    while (all.hasRemaining()) { // one byte at a time
      d.feed(ByteBuffer.wrap(new byte[] {all.get()}));
      for (Frames.Frame f = d.next(); f != null; f = d.next()) seen.append(f.type()).append(f.json()).append('|');
    }
    assertEquals("2{\"reportPeriodMs\":1000}|5{}|", seen.toString());
    assertNull(d.next());
  }

  @Test
  void aFrameOver4MiBIsAProtocolError() {
    Frames.Decoder d = new Frames.Decoder();
    d.feed(ByteBuffer.allocate(4).putInt(0, (4 << 20) + 2));
    assertThrows(IOException.class, d::next);
    assertThrows(IllegalArgumentException.class, () -> Frames.encode(3, "x".repeat(4 << 20)));
  }

  @Test
  void jsonRoundTripsStringsWithEscapes() {
    StringBuilder sb = new StringBuilder("{");
    Json.key(sb, "s");
    Json.string(sb, "a\"b\\c\nd\u0001");
    Json.key(sb, "n").append(-5);
    sb.append('}');
    @SuppressWarnings("unchecked")
    Map<String, Object> m = (Map<String, Object>) Json.parse(sb.toString());
    assertEquals("a\"b\\c\nd\u0001", m.get("s"));
    assertEquals(-5L, m.get("n"));
    assertEquals(List.of(1L, 2.5, true, "x"), Json.parse(" [1, 2.5, true, \"x\"] "));
    assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\":1"));
  }

  @Test
  void configTakesTheRunnersValuesAndKeepsDefaultsForTheRest() {
    Config c = Config.parse("{\"reportPeriodMs\":5000,\"trace\":true,\"traceSampleRatio\":0.5,"
        + "\"latencyBoundsNs\":[100,200,300]}");
    assertEquals(5000, c.reportPeriodMs());
    assertEquals(true, c.trace());
    assertEquals(0.5, c.traceSampleRatio());
    assertArrayEquals(new long[] {100, 200, 300}, c.latencyBoundsNs());
    assertEquals(Config.DEFAULT.cardinalityCap(), c.cardinalityCap());
    assertThrows(IllegalArgumentException.class, () -> Config.parse("{\"latencyBoundsNs\":[3,2]}"));
    assertThrows(IllegalArgumentException.class, () -> Config.parse("{\"traceSampleRatio\":2}"));
    assertThrows(IllegalArgumentException.class, () -> Config.parse("{\"reportPeriodMs\":5}"));
  }

  @Test
  void configDisabledListsInstrumentationNames() {
    assertEquals(java.util.Set.of(), Config.parse("{}").disabled());
    assertEquals(java.util.Set.of("okhttp", "grpc"),
        Config.parse("{\"disabled\":[\"okhttp\",\"grpc\",\"okhttp\"]}").disabled());
    assertThrows(IllegalArgumentException.class, () -> Config.parse("{\"disabled\":[1]}"));
  }

  @Test
  void statusClassesFollowHttpAndGrpcSemantics() {
    assertEquals(StatusClass.OK, StatusClass.http(204));
    assertEquals(StatusClass.CLIENT_ERROR, StatusClass.http(404));
    assertEquals(StatusClass.SERVER_ERROR, StatusClass.http(503));
    assertEquals(StatusClass.SERVER_ERROR, StatusClass.http(-1), "no answer at all");
    assertEquals(StatusClass.OK, StatusClass.grpc(0));
    assertEquals(StatusClass.CLIENT_ERROR, StatusClass.grpc(3)); // INVALID_ARGUMENT
    assertEquals(StatusClass.SERVER_ERROR, StatusClass.grpc(14)); // UNAVAILABLE
    assertEquals(StatusClass.SERVER_ERROR, StatusClass.grpc(4)); // DEADLINE_EXCEEDED
  }

  @Test
  void onlyIpLiteralsAreTakenAsPeerAddresses() {
    assertEquals("10.1.2.3", Recorder.literalIp("10.1.2.3"));
    assertEquals("::1", Recorder.literalIp("[::1]"));
    assertEquals("", Recorder.literalIp("example.com"), "no DNS lookup on the caller's thread");
    assertEquals("GET /a/b", Recorder.httpMethod("GET", "/a/b?x=1"));
    assertEquals(443, Recorder.defaultPort(-1, true));
  }
}
