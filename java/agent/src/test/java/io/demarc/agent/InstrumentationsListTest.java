package io.demarc.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The instrumentations list the sender offers at every report is made again only when it can
 * differ: a hook applied to a class, or the disabled set changed. (No agent is installed in this
 * JVM: the disabled set is only recorded, and a hook's applying is noted directly.)
 */
class InstrumentationsListTest {
  @AfterEach
  void enableAll() {
    Installer.applyDisabled(Set.of());
  }

  @Test
  void theListIsKeptUntilAHookAppliesOrTheDisabledSetChanges() {
    Installer.applyDisabled(Set.of());
    String first = Installer.instrumentationsJson();
    assertSame(first, Installer.instrumentationsJson(), "nothing changed: the same list");

    Installer.applyDisabled(Set.of("okhttp"));
    String disabled = Installer.instrumentationsJson();
    assertTrue(disabled.contains("\"name\":\"okhttp\",\"active\":false,\"reason\":\"disabled by config\""),
        disabled);
    assertSame(disabled, Installer.instrumentationsJson());

    Installer.applyDisabled(Set.of());
    assertEquals(first, Installer.instrumentationsJson(), "enabled again: the list as before");

    String beforeApplied = Installer.instrumentationsJson();
    Installer.noteApplied("grpc-client");
    String applied = Installer.instrumentationsJson();
    assertNotSame(beforeApplied, applied, "a hook applied: made again");
    assertTrue(applied.contains("\"name\":\"grpc\",\"active\":true"), applied);
    assertSame(applied, Installer.instrumentationsJson());
  }
}
