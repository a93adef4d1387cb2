package io.demarc.agent.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Library objects of calls in progress (compared by identity) mapped to a long and an optional
 * value: for calls whose start and end are seen in different methods of an object the agent
 * cannot add a field to (retransformation forbids new fields). Bounded, allocation-free per call.
 *
 * <p>A key goes to one of {@value #SLOTS} slots (its thread's own first, so a thread that waits
 * for its call finds its slot free each time), and is found again by comparing the slots'
 * references: two small arrays, a few cache lines; a slot's key and value are neighbours in one of
 * them, so a call touches two lines, not three. The {@link IdentityTable} behind them costs
 * an identity hash (a call into the VM the first time an object is hashed) and a segment's lock,
 * arrays and monitor code: cache misses in a JVM that shares its CPU with others
 * ({@code bench/jvm_cold_path.ts}). A key only goes to the table when its add finds no free slot
 * near its thread's own (more calls in flight than slots, or long streams): then that slot's
 * occupant moves there.
 *
 * <p>A slot is claimed by compare-and-set (null to {@link #CLAIMING}), gets its number and value,
 * then its key (a volatile store): whoever sees the key sees its number and value. It is freed by
 * compare-and-set of the key to null, so of two threads removing one key only one gets it. A
 * freed slot's value stays until the slot is reused or cleared: values are the agent's own.
 *
 * <p>A record over plain arrays: the JIT trusts a record's final fields, so for an instance held
 * in a {@code static final} field the arrays' addresses are constants in compiled code, and a
 * lookup loads only their elements (no holder object, no AtomicReferenceArray in between; the
 * cold bench could not tell this from the class it replaced, so it is kept for being no more
 * complex, not for speed).
 *
 * @param entries per slot, its key (null: free; accessed through {@link #KEYS}) and its value
 * @param numbers the slots' numbers
 * @param spilled the table behind the slots; its monitor serializes moves to it and clear()
 * @param spilledCount entries in {@code spilled}: while 0, a lookup that missed the slots has
 *     nothing more to look up
 */
record CallSlots(Object[] entries, long[] numbers, IdentityTable spilled, AtomicInteger spilledCount) {
  static final int SLOTS = 64;
  /** How many slots from its thread's own an add tries before it moves an occupant out. */
  private static final int PROBES = 4;
  /** A slot being filled: claimed, its number and value not yet written. */
  private static final Object CLAIMING = new Object();

  private static final VarHandle KEYS = MethodHandles.arrayElementVarHandle(Object[].class);

  /** At most {@code max} keys in the table behind the slots; a key's first slot is its thread's. */
  CallSlots(int max) {
    this(new Object[2 * SLOTS], new long[SLOTS], new IdentityTable(max), new AtomicInteger());
  }

  private static int home() {
    return (int) Thread.currentThread().getId();
  }

  // Typed Object arguments and results: exact VarHandle calls, no adaptation per call.
  private Object key(int i) {
    return (Object) KEYS.getVolatile(entries, 2 * i);
  }

  private boolean swap(int i, Object expected, Object key) {
    return KEYS.compareAndSet(entries, 2 * i, expected, key);
  }

  private Object valueAt(int i) {
    return entries[2 * i + 1];
  }

  /**
   * Adds {@code key} with a number other than 0 (0 means absent) and a value (null for none; a
   * user of {@link #removeValue} gives one). Not looked for first: a key added twice is there
   * twice. Returns null, or {@link IdentityTable#FULL} when the table is full and nothing was stored.
   */
  Object add(Object key, long number, Object value) {
    int home = home();
    for (int k = 0; k < PROBES; k++) {
      int i = (home + k) & (SLOTS - 1);
      if (key(i) == null && swap(i, null, CLAIMING)) {
        fill(i, key, number, value);
        return null;
      }
    }
    return spill(home & (SLOTS - 1), key, number, value);
  }

  private void fill(int i, Object key, long number, Object value) {
    numbers[i] = number;
    entries[2 * i + 1] = value;
    KEYS.setVolatile(entries, 2 * i, key);
  }

  /** Every slot near home is taken: the home slot's occupant moves to the table, the key takes its place. */
  private Object spill(int i, Object key, long number, Object value) {
    synchronized (spilled) {
      for (;;) {
        Object occupant = key(i);
        if (occupant == CLAIMING) { // another add is filling it: a moment
          Thread.onSpinWait();
          continue;
        }
        if (occupant == null) {
          if (swap(i, null, CLAIMING)) {
            fill(i, key, number, value);
            return null;
          }
          continue;
        }
        // Into the table first: a lookup that no longer finds the occupant in its slot finds it there.
        Object r = spilled.put(occupant, numbers[i], valueAt(i), false);
        if (r == IdentityTable.FULL) return r;
        boolean added = r == null; // else it was there already (added twice)
        if (added) spilledCount.incrementAndGet();
        if (swap(i, occupant, CLAIMING)) {
          fill(i, key, number, value);
          return null;
        }
        // The occupant was removed meanwhile, from its slot: not in the table after all.
        if (added && spilled.removeNumber(occupant) != 0) spilledCount.decrementAndGet();
      }
    }
  }

  /**
   * The slot holding {@code key}, or -1. From the looking thread's slot on, as the thread that
   * added a key is often the one that looks it up (a call ended on the thread that began it), and
   * finds it in the first slot it reads.
   */
  private int slotOf(Object key) {
    int home = home();
    for (int k = 0; k < SLOTS; k++) {
      int i = (home + k) & (SLOTS - 1);
      if (key(i) == key) return i;
    }
    return -1;
  }

  boolean contains(Object key) {
    return key != null && (slotOf(key) >= 0 || (spilledCount.get() != 0 && spilled.contains(key)));
  }

  /**
   * Where {@code key} is: its slot, or -1 (in the table behind the slots, or absent). One scan for
   * a caller that wants both {@link #value(Object, int)} and {@link #removeNumber(Object, int)}.
   */
  int find(Object key) {
    return key == null ? -1 : slotOf(key);
  }

  /** The value of {@code key}, left in place, or null when absent. */
  Object value(Object key) {
    return value(key, find(key));
  }

  /**
   * As {@link #value(Object)}, with {@code slot} from {@link #find}. The slot's key is read again
   * after its value: a slot freed and taken by another key meanwhile is not mistaken for this one's.
   */
  Object value(Object key, int slot) {
    if (key == null) return null;
    if (slot >= 0) {
      Object value = valueAt(slot);
      if (key(slot) == key) return value;
    }
    return spilledCount.get() == 0 ? null : spilled.value(key);
  }

  /** Removes {@code key}; returns its number, or 0 when absent (so numbers added are never 0). */
  long removeNumber(Object key) {
    return removeNumber(key, find(key));
  }

  /** As {@link #removeNumber(Object)}, with {@code slot} from {@link #find} (a stale one is harmless). */
  long removeNumber(Object key, int slot) {
    if (key == null) return 0;
    if (slot >= 0) {
      long number = numbers[slot];
      if (swap(slot, key, null)) return number;
      // Moved to the table at this instant, or removed by another thread: the table says which.
    }
    if (spilledCount.get() == 0) return 0;
    long number = spilled.removeNumber(key);
    if (number != 0) spilledCount.decrementAndGet();
    return number;
  }

  /** Removes {@code key}; returns its value, or null when absent (so values added are never null). */
  Object removeValue(Object key) {
    if (key == null) return null;
    int i = slotOf(key);
    if (i >= 0) {
      Object value = valueAt(i);
      if (swap(i, key, null)) return value;
    }
    if (spilledCount.get() == 0) return null;
    Object value = spilled.removeValue(key);
    if (value != null) spilledCount.decrementAndGet();
    return value;
  }

  /**
   * Removes the entries {@code test} says to drop, handing each removed one's value to
   * {@code removed} (once, even while other threads remove keys: a value is handed over only by
   * the thread whose removal succeeded). {@code test} may run more than once for an entry.
   */
  void removeIf(IdentityTable.Visitor test, Consumer<Object> removed) {
    for (int i = 0; i < SLOTS; i++) {
      Object key = key(i);
      if (key == null || key == CLAIMING) continue;
      Object value = valueAt(i);
      if (test.drop(key, numbers[i], value) && swap(i, key, null)) removed.accept(value);
    }
    if (spilledCount.get() == 0) return;
    int[] dropped = {0};
    spilled.removeIf((key, number, value) -> { // under the segment's lock: atomic with other removals
      if (!test.drop(key, number, value)) return false;
      removed.accept(value);
      dropped[0]++;
      return true;
    });
    if (dropped[0] != 0) spilledCount.addAndGet(-dropped[0]);
  }

  /** Forgets every key and value (they may be the application's objects). */
  void clear() {
    synchronized (spilled) {
      for (int i = 0; i < SLOTS; i++) {
        KEYS.setVolatile(entries, 2 * i, (Object) null);
        entries[2 * i + 1] = null;
      }
      spilled.clear();
      spilledCount.set(0);
    }
  }

  int size() {
    int n = spilled.size();
    for (int i = 0; i < SLOTS; i++) {
      Object key = key(i);
      if (key != null && key != CLAIMING) n++;
    }
    return n;
  }

  boolean isEmpty() {
    for (int i = 0; i < SLOTS; i++) {
      Object key = key(i);
      if (key != null && key != CLAIMING) return false;
    }
    return spilledCount.get() == 0;
  }
}
