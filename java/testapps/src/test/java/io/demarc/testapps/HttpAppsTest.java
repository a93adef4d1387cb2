package io.demarc.testapps;

import static io.demarc.testapps.Apps.ask;
import static io.demarc.testapps.Apps.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.demarc.testapps.core.App;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpAppsTest {
  static final String[] SERVERS = {"http-server", "jetty-server", "jdk-http-server"};
  static final String[] LIBS = {"jdk", "urlconnection", "okhttp", "apache"};
  private final Map<String, App> servers = new LinkedHashMap<>();

  @BeforeAll
  void startServers() throws Exception {
    for (String s : SERVERS) servers.put(s, Apps.start(s));
  }

  @AfterAll
  void stopServers() {
    servers.values().forEach(App::close);
  }

  @AfterEach
  void clearFaults() {
    servers.values().forEach(s -> ask(s, "set latency_ms=0 error_rate=0 error_code="));
  }

  static Stream<Arguments> everyServerLibAndScheme() {
    Stream.Builder<Arguments> b = Stream.builder();
    for (String s : SERVERS) for (String l : LIBS) for (boolean tls : new boolean[] {false, true}) {
      b.add(Arguments.of(s, l, tls));
    }
    return b.build();
  }

  private String url(String server, boolean tls, String path) {
    App s = servers.get(server);
    return (tls ? "https" : "http") + "://127.0.0.1:" + Apps.port(s, tls ? "tls" : "plain") + path;
  }

  @ParameterizedTest(name = "{1} client -> {0}, tls={2}: every call echoed over kept-alive connections")
  @MethodSource("everyServerLibAndScheme")
  void clientAndServerAgreeOnCountsAndBytes(String server, String lib, boolean tls) throws Exception {
    App s = servers.get(server);
    long before = num(ask(s, "stats"), "requests");
    try (App c = Apps.start("http-client", "--lib", lib, "--url", url(server, tls, "/echo"))) {
      String first = ask(c, "run 20 concurrency=2 payload=100");
      assertEquals(20, num(first, "ok"), first);
      assertEquals(0, num(first, "errors"), first);
      assertEquals(2000, num(first, "bytesSent"));
      assertEquals(2000, num(first, "bytesReceived"));
      assertFalse(Apps.ports(first).isEmpty(), first);
      String second = ask(c, "run 5");
      assertEquals(5, num(second, "ok"), second);
      // The library kept its connection: the second run reuses a port of the first.
      assertTrue(Apps.ports(first).containsAll(Apps.ports(second)), first + " then " + second);
    }
    assertEquals(before + 25, num(ask(s, "stats"), "requests"));
  }

  @ParameterizedTest(name = "{0}: error_rate=1 makes every call a server error, 0.5 exactly half")
  @MethodSource("serverNames")
  void injectedErrorsAreServerErrors(String server) throws Exception {
    App s = servers.get(server);
    try (App c = Apps.start("http-client", "--lib", "okhttp", "--url", url(server, false, "/echo"))) {
      ask(s, "set error_rate=1");
      String all = ask(c, "run 10");
      assertEquals(10, num(all, "serverErrors"), all);
      assertEquals(0, num(all, "ok"), all);
      ask(s, "reset");
      ask(s, "set error_rate=0.5");
      String half = ask(c, "run 10");
      assertEquals(5, num(half, "serverErrors"), half);
      assertEquals(5, num(ask(s, "stats"), "errors"));
      ask(s, "set error_rate=1 error_code=429");
      String limited = ask(c, "run 4");
      assertEquals(4, num(limited, "clientErrors"), limited);
    }
  }

  @ParameterizedTest(name = "{0}: latency_ms=40 shows in the client's mean")
  @MethodSource("serverNames")
  void injectedLatencyShowsInTheClientMean(String server) throws Exception {
    App s = servers.get(server);
    try (App c = Apps.start("http-client", "--lib", "apache", "--url", url(server, true, "/echo"))) {
      ask(c, "run 5");
      ask(s, "set latency_ms=40");
      String slow = ask(c, "run 5");
      assertTrue(num(slow, "meanNs") >= 40_000_000L, slow);
      assertTrue(num(slow, "p50Ns") >= 40_000_000L, slow);
    }
  }

  @ParameterizedTest(name = "{0}: /users/42, /status/404 and /status/503 answer as documented")
  @MethodSource("serverNames")
  void routesAnswerAsDocumented(String server) throws Exception {
    try (App users = Apps.start("http-client", "--lib", "jdk", "--url", url(server, false, "/users/42"));
         App missing = Apps.start("http-client", "--lib", "jdk", "--url", url(server, false, "/status/404"));
         App broken = Apps.start("http-client", "--lib", "urlconnection", "--url", url(server, true, "/status/503"))) {
      String u = ask(users, "run 3");
      assertEquals(3, num(u, "ok"), u);
      assertEquals(3 * "{\"id\":42,\"name\":\"user-42\"}".length(), num(u, "bytesReceived"), u);
      assertEquals(3, num(ask(missing, "run 3"), "clientErrors"));
      assertEquals(3, num(ask(broken, "run 3"), "serverErrors"));
    }
  }

  @Test
  void aClientOfAnUnknownLibraryIsRefused() {
    Exception e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> Apps.start("http-client", "--lib", "curl", "--url", "http://127.0.0.1:1/echo"));
    assertTrue(e.getMessage().contains("okhttp"), e.getMessage());
  }

  static Stream<String> serverNames() {
    return Stream.of(SERVERS);
  }
}
