package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Keys and their values, in slots and in the table behind them (InFlightTest covers the numbers). */
class CallSlotsTest {
  @Test
  void valuesFollowTheirKeysIntoTheTable() {
    CallSlots slots = new CallSlots(10_000);
    List<Object> keys = new ArrayList<>();
    for (int i = 0; i < CallSlots.SLOTS * 10; i++) {
      Object key = new Object();
      keys.add(key);
      assertNull(slots.add(key, i + 1, "value " + i));
    }
    assertEquals(keys.size(), slots.size());
    for (int i = keys.size() - 1; i >= 0; i--) {
      assertTrue(slots.contains(keys.get(i)));
      assertEquals("value " + i, slots.removeValue(keys.get(i)));
      assertFalse(slots.contains(keys.get(i)));
      assertNull(slots.removeValue(keys.get(i)), "removed once");
    }
    assertTrue(slots.isEmpty());
  }

  @Test
  void oneFindServesTheValueAndTheRemovalAndAStaleOneIsHarmless() {
    CallSlots slots = new CallSlots(10_000);
    Object call = new Object();
    slots.add(call, 7, "sums");
    int where = slots.find(call);
    assertTrue(where >= 0, "in a slot");
    assertEquals("sums", slots.value(call, where));
    assertEquals(7, slots.removeNumber(call, where));
    assertEquals(0, slots.removeNumber(call, where), "removed once");
    // The slot found, then freed and taken by another call before this one's removal: neither is confused.
    Object other = new Object();
    slots.add(call, 8, "first");
    where = slots.find(call);
    slots.removeNumber(call);
    slots.add(other, 9, "second");
    assertEquals(where, slots.find(other), "the freed slot taken again");
    assertNull(slots.value(call, where));
    assertEquals(0, slots.removeNumber(call, where));
    assertEquals(9, slots.removeNumber(other, slots.find(other)), "the other call's start stays");
    // Not in a slot (spilled into the table behind them): found there.
    List<Object> many = new ArrayList<>();
    for (int i = 0; i < CallSlots.SLOTS * 3; i++) {
      Object key = new Object();
      many.add(key);
      slots.add(key, i + 1, "v" + i);
    }
    int spilled = 0;
    for (int i = 0; i < many.size(); i++) {
      int w = slots.find(many.get(i));
      if (w < 0) spilled++;
      assertEquals("v" + i, slots.value(many.get(i), w));
      assertEquals(i + 1, slots.removeNumber(many.get(i), w));
    }
    assertTrue(spilled > 0, "some keys were in the table");
    assertTrue(slots.isEmpty());
  }

  @Test
  void keysAreFoundAndRemovedOnceFromOtherThreads() throws Exception {
    CallSlots slots = new CallSlots(10_000);
    int perThread = 40, threads = 4; // 160 keys: most slots taken, some spilled into the table
    List<Object> keys = java.util.Collections.synchronizedList(new ArrayList<>());
    List<Thread> adders = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      adders.add(new Thread(() -> {
        for (int i = 0; i < perThread; i++) {
          Object key = new Object();
          assertNull(slots.add(key, 1, key));
          keys.add(key);
        }
      }));
    }
    for (Thread t : adders) t.start();
    for (Thread t : adders) t.join();
    assertEquals(threads * perThread, slots.size());
    AtomicInteger removed = new AtomicInteger(), wrong = new AtomicInteger();
    List<Thread> removers = new ArrayList<>();
    for (int t = 0; t < 2; t++) { // both try every key: each comes out once, with its own value
      removers.add(new Thread(() -> {
        for (Object key : new ArrayList<>(keys)) {
          Object seen = slots.value(key); // null once the other thread has removed it
          if (seen != null && seen != key) wrong.incrementAndGet();
          Object v = slots.removeValue(key);
          if (v == null) continue;
          if (v != key) wrong.incrementAndGet();
          removed.incrementAndGet();
        }
      }));
    }
    for (Thread t : removers) t.start();
    for (Thread t : removers) t.join();
    assertEquals(0, wrong.get());
    assertEquals(threads * perThread, removed.get());
    assertTrue(slots.isEmpty());
  }

  @Test
  void aFullTableRefusesAndKeepsWhatItHas() {
    CallSlots slots = new CallSlots(16); // the table: one entry per segment
    int stored = 0, refused = 0;
    for (int i = 0; i < CallSlots.SLOTS + 200; i++) {
      if (slots.add(new Object(), 1, "v") == IdentityTable.FULL) refused++;
      else stored++;
    }
    assertTrue(refused > 0, "the bound holds");
    assertEquals(stored, slots.size());
  }

  @Test
  void removeIfHandsEachRemovedValueOverOnceWhileOthersRemove() throws Exception {
    // A sweep removes every entry while two threads remove the same keys: each value must come
    // out exactly once, from one of the three. Keys are added from 16 threads (each its own home
    // slots) so that the slots, not only the table, hold them.
    for (int round = 0; round < 300; round++) {
      CallSlots slots = new CallSlots(100_000);
      List<Object> keys = java.util.Collections.synchronizedList(new ArrayList<>());
      List<Thread> adders = new ArrayList<>();
      for (int t = 0; t < 16; t++) {
        int base = t * 8;
        adders.add(new Thread(() -> {
          for (int i = 0; i < 8; i++) {
            Object key = new Object();
            keys.add(key);
            slots.add(key, base + i + 1, Integer.valueOf(base + i));
          }
        }));
      }
      for (Thread t : adders) t.start();
      for (Thread t : adders) t.join();
      ConcurrentHashMap<Object, AtomicInteger> out = new ConcurrentHashMap<>();
      List<Object> all = new ArrayList<>(keys);
      Runnable remover = () -> {
        for (Object key : all) {
          Object v = slots.removeValue(key);
          if (v != null) out.computeIfAbsent(v, x -> new AtomicInteger()).incrementAndGet();
        }
      };
      Thread a = new Thread(remover), b = new Thread(remover);
      a.start();
      b.start();
      slots.removeIf((k, n, v) -> true, v -> out.computeIfAbsent(v, x -> new AtomicInteger()).incrementAndGet());
      a.join();
      b.join();
      assertEquals(all.size(), out.size(), "every value came out");
      out.forEach((v, n) -> assertEquals(1, n.get(), "value " + v + " handed over " + n + " times"));
      assertTrue(slots.isEmpty());
    }
  }

  @Test
  void clearDropsEverything() {
    CallSlots slots = new CallSlots(1_000);
    Object kept = new Object();
    for (int i = 0; i < CallSlots.SLOTS * 3; i++) slots.add(i == 0 ? kept : new Object(), 1, "v");
    slots.clear();
    assertEquals(0, slots.size());
    assertNull(slots.removeValue(kept));
    Object again = new Object();
    slots.add(again, 5, "w");
    assertSame("w", slots.removeValue(again));
  }
}
