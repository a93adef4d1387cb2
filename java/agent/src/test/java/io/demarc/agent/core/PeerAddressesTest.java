package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Rows and spans of HTTP clients called with a host name: real JDK HttpClient calls to
 * {@code http://localhost:port} served by the JDK HttpServer, recorded with what the client
 * advice knows (the URL's host and port, no IP), must name the connection the server saw.
 */
class PeerAddressesTest {
  @AfterEach
  void cleanUp() {
    Recorder.activate(false);
    Recorder.reset();
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> list(Object o) {
    return (List<Map<String, Object>>) o;
  }

  @Test
  void hostNameClientRowsGetThePeerAndLocalIpOfTheirConnectionAndNoEphemeralPort() throws Exception {
    // The server records, per call, the addresses of the connection as the kernel gave them.
    Set<String> serverLocal = ConcurrentHashMap.newKeySet();
    Set<String> serverRemoteIps = ConcurrentHashMap.newKeySet();
    Set<Integer> clientPorts = ConcurrentHashMap.newKeySet();
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/echo", ex -> {
      serverLocal.add(ex.getLocalAddress().getAddress().getHostAddress() + ":" + ex.getLocalAddress().getPort());
      serverRemoteIps.add(ex.getRemoteAddress().getAddress().getHostAddress());
      clientPorts.add(ex.getRemoteAddress().getPort());
      ex.sendResponseHeaders(200, -1);
      ex.close();
    });
    server.start();
    int port = server.getAddress().getPort();
    Recorder.configure(Config.parse("{\"trace\":true,\"traceSampleRatio\":1}"));
    Recorder.activate(true);
    try {
      for (int i = 0; i < 3; i++) {
        // A new client each time: a new connection, a new ephemeral port.
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        URI uri = URI.create("http://localhost:" + port + "/echo");
        long start = Recorder.start();
        HttpResponse<Void> resp = client.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.discarding());
        // What the JDK HttpClient advice passes: no local address, the host only as a literal.
        Recorder.record("http", "client", false, "", 0, Recorder.literalIp(uri.getHost()), port, uri.getHost(),
            "GET /echo", resp.statusCode(), StatusClass.http(resp.statusCode()), true, start, -1, -1, "jdk-httpclient",
            null);
      }
    } finally {
      server.stop(0);
    }
    assertTrue(clientPorts.size() >= 2, "calls went over several connections: " + clientPorts);
    assertEquals(1, serverLocal.size());
    assertEquals(1, serverRemoteIps.size());

    List<Map<String, Object>> rows = list(Json.parse(Recorder.flush(true).rowsJson()));
    assertEquals(1, rows.size(), "connections differing only by the client's ephemeral port share a row: " + rows);
    Map<String, Object> row = rows.get(0);
    assertEquals(3L, row.get("requests"));
    assertEquals(serverLocal.iterator().next(), row.get("peerIp") + ":" + row.get("peerPort"),
        "the peer is the address the server accepted on");
    assertEquals(serverRemoteIps.iterator().next(), row.get("localIp"), "the local ip is the one the server saw");
    assertEquals(0L, row.get("localPort"), "no ephemeral port in a client row");
    assertEquals("localhost", row.get("service"));

    @SuppressWarnings("unchecked")
    List<Map<String, Object>> spans = list(((Map<String, Object>) Json.parse(Recorder.drainSpans())).get("spans"));
    assertEquals(3, spans.size());
    for (Map<String, Object> s : spans) {
      assertEquals(row.get("peerIp"), s.get("peerIp"), "spans join the same L4 flow as their row");
      assertEquals(row.get("localIp"), s.get("localIp"));
      assertEquals((long) port, s.get("peerPort"));
    }
  }

  @Test
  void serverRowsLeaveOutThePeersEphemeralPortAndSpansKeepIt() {
    Recorder.configure(Config.parse("{\"trace\":true,\"traceSampleRatio\":1}"));
    Recorder.activate(true);
    for (int p = 40000; p < 40010; p++) {
      Recorder.record("http", "server", false, "127.0.0.1", 8080, "127.0.0.1", p, "", "GET /x", 200, "ok", true,
          Recorder.start(), -1, -1, "servlet", null);
    }
    List<Map<String, Object>> rows = list(Json.parse(Recorder.flush(true).rowsJson()));
    assertEquals(1, rows.size(), rows.toString());
    assertEquals(0L, rows.get(0).get("peerPort"));
    assertEquals(8080L, rows.get(0).get("localPort"));
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> spans = list(((Map<String, Object>) Json.parse(Recorder.drainSpans())).get("spans"));
    assertEquals(10, spans.stream().map(s -> s.get("peerPort")).distinct().count(), "each span its connection");
  }

  @Test
  void unknownNamesStayEmptyAndTheCacheIsBounded() {
    PeerAddresses a = new PeerAddresses();
    assertEquals("", a.ipOf("no-such-host.invalid"));
    assertEquals("", a.ipOf("no-such-host.invalid"), "cached as unknown");
    assertEquals("10.1.2.3", a.ipOf("10.1.2.3"), "a literal is itself");
    assertNotEquals("", a.localIpFor("127.0.0.1"));
    for (int i = 0; i < PeerAddresses.MAX_ENTRIES + 50; i++) a.localIpFor("127.0." + (i / 250) + "." + (i % 250 + 1));
    assertTrue(a.size() <= 2 * PeerAddresses.MAX_ENTRIES, "bounded: " + a.size());
  }
}
