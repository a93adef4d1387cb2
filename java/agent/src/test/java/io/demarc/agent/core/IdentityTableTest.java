package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class IdentityTableTest {
  /** Equal by value: the table must still tell them apart (identity keys). */
  record Same(int v) {}

  @Test
  void keysAreComparedByIdentityNotEquals() {
    IdentityTable t = new IdentityTable(100);
    Same a = new Same(1);
    Same b = new Same(1);
    t.put(a, 10, null, false);
    assertEquals(0, t.removeNumber(b), "an equal but different object is another key");
    assertEquals(10, t.removeNumber(a));
    assertEquals(0, t.removeNumber(a), "removed");
    assertEquals(0, t.size());
  }

  @Test
  void putIfAbsentKeepsTheFirstAndPutReplacesReturningTheOldValue() {
    IdentityTable t = new IdentityTable(100);
    Object k = new Object();
    assertNull(t.put(k, 1, "first", true));
    assertSame(IdentityTable.PRESENT, t.put(k, 2, "second", true));
    assertEquals("first", t.put(k, 3, "third", false));
    assertEquals("third", t.removeValue(k));
    assertNull(t.removeValue(k));
  }

  /** Many keys, removed in random order, checked against a plain map: deletion keeps runs intact. */
  @Test
  void agreesWithAMapThroughGrowthAndRandomRemovals() {
    IdentityTable t = new IdentityTable(1_000_000);
    Map<Object, Long> expected = new HashMap<>(); // Objects: identity equality
    List<Object> keys = new ArrayList<>();
    Random r = new Random(7);
    for (int round = 0; round < 20_000; round++) {
      if (keys.isEmpty() || r.nextInt(3) > 0) {
        Object k = new Object();
        keys.add(k);
        expected.put(k, (long) round + 1);
        t.put(k, round + 1, null, false);
      } else {
        Object k = keys.remove(r.nextInt(keys.size()));
        assertEquals(expected.remove(k), t.removeNumber(k));
      }
    }
    assertEquals(expected.size(), t.size());
    for (Object k : keys) assertEquals(expected.get(k), t.removeNumber(k));
    assertEquals(0, t.size());
  }

  @Test
  void theBoundRejectsNewKeysAndRemoveIfDropsWhatItIsTold() {
    IdentityTable t = new IdentityTable(16 * 4); // 4 per segment
    int full = 0;
    Map<Object, Long> kept = new HashMap<>();
    for (int i = 0; i < 1000; i++) {
      Object k = new Object();
      if (t.put(k, i + 1, null, false) == IdentityTable.FULL) full++;
      else kept.put(k, (long) i + 1);
    }
    assertEquals(64, t.size(), "bounded");
    assertEquals(1000 - 64, full);
    t.removeIf((k, n, v) -> n % 2 == 0);
    for (Map.Entry<Object, Long> e : kept.entrySet()) {
      assertEquals(e.getValue() % 2 == 0 ? 0 : e.getValue(), t.removeNumber(e.getKey()), "even ones dropped");
    }
    assertEquals(0, t.size());
  }
}
