package io.demarc.agent.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A small cache of immutable entries in front of work done once per library object (a
 * connection's addresses, a servlet's routes): one slot per object's identity hash, objects sharing
 * a slot take turns in it, and a lookup is one load plus the entry's own identity compare, where a
 * map would hash and walk nodes that are cache misses in a JVM sharing its CPU. Entries may hold
 * the application's objects, so the owner clears the cache when the recorder goes inactive
 * (detach), and a store that races with that clearing undoes itself.
 *
 * <p>A record: the JIT trusts its final fields, so for a cache held in a {@code static final}
 * field the slots' address and the shift are constants in compiled code, and a lookup loads only
 * its slot (no holder object; not measurably faster with cold caches, and no more complex).
 *
 * @param slots the entries, accessed through {@link #SLOT}
 * @param shift 32 minus the number of index bits
 */
record SlotCache(Object[] slots, int shift) {
  private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Object[].class);

  /** A cache of {@code 2^bits} slots. */
  SlotCache(int bits) {
    this(new Object[1 << bits], 32 - bits);
  }

  private int slot(Object key) {
    return (System.identityHashCode(key) * 0x9E3779B9) >>> shift; // the top bits, well mixed
  }

  /** The entry in {@code key}'s slot, which may be another key's (the caller compares), or null. */
  Object at(Object key) {
    return SLOT.getAcquire(slots, slot(key)); // typed Object: an exact VarHandle call
  }

  /** Puts {@code entry} in {@code key}'s slot, unless the recorder is inactive. */
  void put(Object key, Object entry) {
    int slot = slot(key);
    SLOT.setVolatile(slots, slot, entry);
    // Raced with a detach that cleared the cache before this store: clear it again. (Either this
    // thread sees the recorder off here, or the clearing came after the store: both volatile.)
    if (!Recorder.active()) SLOT.compareAndSet(slots, slot, entry, (Object) null);
  }

  /** Forgets every entry (the recorder went inactive). */
  void clear() {
    for (int i = 0; i < slots.length; i++) SLOT.setVolatile(slots, i, (Object) null);
  }

  /** How many slots hold an entry (tests). */
  int size() {
    int n = 0;
    for (int i = 0; i < slots.length; i++) if (SLOT.getVolatile(slots, i) != null) n++;
    return n;
  }
}
