package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A connection's facts are read once per connection object, and forgotten at detach. */
class ConnectionFactsTest {
  @AfterEach
  void off() {
    Recorder.activate(false);
    Recorder.reset();
  }

  @Test
  void theFactsComeFromTheAddressesAndAreFoundAgainByIdentity() {
    Recorder.activate(true);
    Object connection = new Object();
    assertNull(ConnectionFacts.recent(connection));
    ConnectionFacts f = ConnectionFacts.remember(connection, new InetSocketAddress("10.0.0.1", 20880),
        new InetSocketAddress("10.0.0.2", 41000), true);
    assertEquals("10.0.0.1", f.localIp);
    assertEquals(20880, f.localPort);
    assertEquals("10.0.0.2", f.peerIp);
    assertEquals(41000, f.peerPort);
    assertTrue(f.ssl);
    assertSame(f, ConnectionFacts.recent(connection));
    assertNull(ConnectionFacts.recent(new Object()), "another connection: not these facts");
    ConnectionFacts none = ConnectionFacts.remember(null, null, null, false);
    assertEquals("", none.localIp);
    assertEquals(0, none.peerPort);
    assertNull(ConnectionFacts.recent(null));
  }

  /** Many connections, more than the slots: each call still gets its own connection's facts. */
  @Test
  void connectionsSharingASlotNeverGetEachOthersFacts() {
    Recorder.activate(true);
    Object[] connections = new Object[500];
    for (int i = 0; i < connections.length; i++) connections[i] = new Object();
    for (int round = 0; round < 3; round++) {
      for (int i = 0; i < connections.length; i++) {
        ConnectionFacts f = ConnectionFacts.recent(connections[i]);
        if (f == null) {
          f = ConnectionFacts.remember(connections[i], new InetSocketAddress("127.0.0.1", 8080),
              new InetSocketAddress("127.0.0.1", 10_000 + i), false);
        }
        assertEquals(10_000 + i, f.peerPort);
      }
    }
  }

  @Test
  void detachForgetsTheApplicationsObjects() {
    Recorder.activate(true);
    Object connection = new Object();
    ConnectionFacts.remember(connection, new InetSocketAddress("127.0.0.1", 1), new InetSocketAddress("127.0.0.1", 2),
        false);
    assertTrue(ConnectionFacts.size() > 0);
    Recorder.activate(false);
    assertEquals(0, ConnectionFacts.size(), "nothing of the application stays reachable");
    assertNull(ConnectionFacts.recent(connection));
    // Remembered while inactive (a call racing the detach): not kept either.
    ConnectionFacts.remember(connection, null, null, false);
    assertEquals(0, ConnectionFacts.size());
  }
}
