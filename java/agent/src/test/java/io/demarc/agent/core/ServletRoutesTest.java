package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The Servlet spec's mapping rules as ServletRoutes applies them to a request's servlet path. */
class ServletRoutesTest {
  @AfterEach
  void off() {
    Recorder.activate(false);
    Recorder.reset();
  }

  @Test
  void severalMappingsAnswerTheirPatternForTheServletPathTheyGive() {
    Recorder.activate(true);
    ServletRoutes r = ServletRoutes.remember(new Object(), "/app", List.of("/echo", "/users/*", "*.do", "/"));
    assertNull(r.single());
    assertEquals("/app/echo", r.route("/echo"));
    assertEquals("/app/users/*", r.route("/users"), "/users/7 and /users both have the servlet path /users");
    assertEquals("/app/*.do", r.route("/a/b.do"), "an extension pattern with the slash its paths have");
    assertEquals("/app/", r.route("/static/logo.png"), "anything else: the default mapping");
    assertFalse(r.springMvc());
  }

  @Test
  void routeLabelsJoinContextAndPatternWithTheSlashAnExtensionLacks() {
    assertEquals("/app/*.do", ServletRoutes.label("/app", "*.do"));
    assertEquals("/*.do", ServletRoutes.label("", "*.do"));
    assertEquals("/*.do", ServletRoutes.label(null, "*.do"));
    assertEquals("/app/users/*", ServletRoutes.label("/app", "/users/*"));
    String pattern = "/users/*";
    assertSame(pattern, ServletRoutes.label("", pattern), "the root context allocates nothing");
    assertEquals("/app", ServletRoutes.label("/app", ""), "the context root mapping");
    assertEquals("/app/*.do", ServletRoutes.remember(new Object(), "/app", List.of("*.do")).single());
  }

  @Test
  void aServletPathTwoMappingsGiveIsAskedOfTheRequest() {
    Recorder.activate(true);
    ServletRoutes r = ServletRoutes.remember(new Object(), "", List.of("/t", "/t/*", "/*", ""));
    assertNull(r.route("/t"), "/t exactly, or /t/x under /t/*: only the request knows");
    assertNull(r.route(""), "/* and the context root both give the servlet path \"\"");
    assertNull(r.route("/other"), "no mapping explains it (no default mapping)");
  }

  @Test
  void oneMappingIsEveryRequestsRouteAndUnknownMappingsAskEveryRequest() {
    Recorder.activate(true);
    assertEquals("/api/*", ServletRoutes.remember(new Object(), "", List.of("/api/*")).single());
    ServletRoutes unknown = ServletRoutes.remember(new Object(), "", null);
    assertNull(unknown.single());
    assertNull(unknown.route("/api"));
  }

  @Test
  void aServletsRoutesAreRememberedWhileActiveAndForgottenAtDetach() {
    Recorder.activate(true);
    Object servlet = new Object(); // no getServletConfig: its mappings cannot be read
    ServletRoutes first = ServletRoutes.of(servlet);
    assertNull(first.single());
    assertSame(first, ServletRoutes.of(servlet), "read once, then remembered");
    Recorder.activate(false);
    Recorder.activate(true);
    assertNotSame(first, ServletRoutes.of(servlet), "read again after a detach");
  }
}
