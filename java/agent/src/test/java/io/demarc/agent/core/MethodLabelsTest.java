package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MethodLabelsTest {
  @Test
  void httpLabelsCutTheQueryAndAreMadeOnce() {
    String a = Recorder.httpMethod("GET", "/items?id=3");
    assertEquals("GET /items", a);
    assertSame(a, Recorder.httpMethod(new String("GET"), new String("/items")), "the cached String");
    assertEquals("GET /", Recorder.httpMethod("GET", ""));
    assertEquals("GET /", Recorder.httpMethod("GET", null));
    assertEquals("BREW /pot", Recorder.httpMethod("BREW", "/pot"), "uncommon verbs work, uncached");
  }

  @Test
  void aClientUrlIsReusedForTheSameTextAndVerbOnly() {
    String url = "http://10.0.0.7:8080/items?id=3";
    MethodLabels.ClientUrl u = Recorder.clientUrl("GET", url, "/items", "10.0.0.7");
    assertEquals("GET /items", u.label());
    assertEquals("10.0.0.7", u.peerIp());
    assertSame(u, Recorder.recentClientUrl("GET", new String(url)), "an equal text, another String");
    assertNull(Recorder.recentClientUrl("POST", url), "another verb");
    assertNull(Recorder.recentClientUrl("GET", "http://10.0.0.7:8080/other"), "another URL");
    MethodLabels.ClientUrl named = Recorder.clientUrl("POST", "http://api.example/x", "/x", "api.example");
    assertEquals("POST /x", named.label());
    assertEquals("", named.peerIp(), "a host name: no peer IP");
    assertNull(Recorder.recentClientUrl("GET", url), "the thread's last URL is the new one");
    assertSame(named, Recorder.recentClientUrl("POST", "http://api.example/x"));
  }

  @Test
  void grpcNamesSplitAtTheLastSlash() {
    MethodLabels.Grpc g = Recorder.grpcMethod("demo.v1.Echo/Say");
    assertEquals("demo.v1.Echo", g.service());
    assertEquals("Say", g.method());
    assertSame(g, Recorder.grpcMethod("demo.v1.Echo/Say"), "the thread's last method, by identity");
    String other = new String("demo.v1.Echo/Say"); // an equal name of another method descriptor
    MethodLabels.Grpc again = Recorder.grpcMethod(other);
    assertSame(g.service(), again.service(), "the same label instances: the same row");
    assertSame(g.method(), again.method());
    assertSame(again, Recorder.grpcMethod(other), "then the thread's last, for that name's instance");
    assertEquals(new MethodLabels.Grpc("", "bare", "bare"), Recorder.grpcMethod("bare"));
  }

  /** More methods than the slots in front of the map: names sharing a slot still get their own labels. */
  @Test
  void grpcLabelsStayRightWhenMethodsShareASlot() {
    for (int round = 0; round < 3; round++) {
      for (int i = 0; i < 300; i++) {
        MethodLabels.Grpc g = Recorder.grpcMethod("demo.S" + i + "/M" + (i % 7));
        assertEquals("demo.S" + i, g.service());
        assertEquals("M" + (i % 7), g.method());
      }
    }
  }

  @Test
  void theCacheIsBoundedAndLabelsStayRightPastTheBound() {
    for (int i = 0; i < MethodLabels.MAX_ENTRIES + 100; i++) {
      assertEquals("POST /item/" + i, Recorder.httpMethod("POST", "/item/" + i));
    }
    assertTrue(MethodLabels.size() <= MethodLabels.MAX_ENTRIES, "bounded: " + MethodLabels.size());
  }

  @Test
  void dubboLibraryLabels() {
    assertEquals("dubbo-dubbo", Recorder.dubboLibrary("dubbo"));
    assertEquals("dubbo-tri", Recorder.dubboLibrary("tri"));
    assertEquals("dubbo-rest", Recorder.dubboLibrary("rest"));
  }
}
