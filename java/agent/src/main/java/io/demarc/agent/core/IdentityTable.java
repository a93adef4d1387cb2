package io.demarc.agent.core;

/**
 * A map from library objects, compared by identity, to a long and an optional value; bounded and
 * allocation-free per call (no key wrapper, no boxed long, no map node): open addressing in
 * lock-striped segments, each guarded by its own monitor (uncontended locking is cheap, and the
 * calls of different objects mostly meet different segments). Removal shifts the following
 * entries back, so there are no tombstones to clean up.
 */
final class IdentityTable {
  private static final int SEGMENTS = 16;
  private static final int INITIAL = 16;

  private final Segment[] segments = new Segment[SEGMENTS];
  private final int maxPerSegment;

  IdentityTable(int max) {
    for (int i = 0; i < SEGMENTS; i++) segments[i] = new Segment();
    maxPerSegment = Math.max(1, max / SEGMENTS);
  }

  /** A slot's home: the identity hash, mixed, so that nearby hashes spread over the slots. */
  private static int mix(Object key) {
    int h = System.identityHashCode(key) * 0x9E3779B9;
    return h ^ (h >>> 16);
  }

  private Segment segment(int h) {
    return segments[h & (SEGMENTS - 1)];
  }

  /** Returned by {@link #put} when the table is full and nothing was stored. */
  static final Object FULL = new Object();
  /** Returned by {@link #put} when {@code ifAbsent} found the key present (it stays as it was). */
  static final Object PRESENT = new Object();

  /**
   * Maps {@code key} to {@code number} and {@code value}, replacing what was there unless
   * {@code ifAbsent}. Returns the value replaced or null, else {@link #FULL} or {@link #PRESENT}.
   */
  Object put(Object key, long number, Object value, boolean ifAbsent) {
    int h = mix(key);
    Segment s = segment(h);
    synchronized (s) {
      return s.put(key, h >>> 4, number, value, ifAbsent, maxPerSegment);
    }
  }

  boolean contains(Object key) {
    int h = mix(key);
    Segment s = segment(h);
    if (s.size == 0) return false;
    synchronized (s) {
      return s.indexOf(key, h >>> 4) >= 0;
    }
  }

  /** The value of {@code key}, or null when absent. */
  Object value(Object key) {
    int h = mix(key);
    Segment s = segment(h);
    if (s.size == 0) return null;
    synchronized (s) {
      int i = s.indexOf(key, h >>> 4);
      return i < 0 ? null : s.values[i];
    }
  }

  /** Removes {@code key}; returns its number, or 0 when absent. */
  long removeNumber(Object key) {
    int h = mix(key);
    Segment s = segment(h);
    if (s.size == 0) return 0; // nothing stored here: no locking
    synchronized (s) {
      int i = s.indexOf(key, h >>> 4);
      if (i < 0) return 0;
      long number = s.numbers[i];
      s.deleteAt(i);
      return number;
    }
  }

  /** Removes {@code key}; returns its value, or null when absent. */
  Object removeValue(Object key) {
    int h = mix(key);
    Segment s = segment(h);
    if (s.size == 0) return null;
    synchronized (s) {
      int i = s.indexOf(key, h >>> 4);
      if (i < 0) return null;
      Object value = s.values[i];
      s.deleteAt(i);
      return value;
    }
  }

  /** Calls {@code visitor} for each entry, under its segment's lock; entries it says to drop go. */
  void removeIf(Visitor visitor) {
    for (Segment s : segments) {
      if (s.size == 0) continue;
      synchronized (s) {
        s.removeIf(visitor);
      }
    }
  }

  interface Visitor {
    /** True to remove the entry. */
    boolean drop(Object key, long number, Object value);
  }

  void clear() {
    for (Segment s : segments) {
      synchronized (s) {
        s.keys = new Object[INITIAL];
        s.numbers = new long[INITIAL];
        s.values = new Object[INITIAL];
        s.size = 0;
      }
    }
  }

  int size() {
    int n = 0;
    for (Segment s : segments) n += s.size;
    return n;
  }

  boolean isEmpty() {
    for (Segment s : segments) {
      if (s.size != 0) return false;
    }
    return true;
  }

  private static final class Segment {
    /** Read without the lock as a hint (is anything here at all); written under it. */
    volatile int size;
    Object[] keys = new Object[INITIAL];
    long[] numbers = new long[INITIAL];
    Object[] values = new Object[INITIAL];

    private int find(Object key, int home) {
      int mask = keys.length - 1;
      for (int i = home & mask; ; i = (i + 1) & mask) {
        Object k = keys[i];
        if (k == key || k == null) return i;
      }
    }

    Object put(Object key, int home, long number, Object value, boolean ifAbsent, int max) {
      int i = find(key, home);
      if (keys[i] == key) {
        if (ifAbsent) return PRESENT;
        Object old = values[i];
        numbers[i] = number;
        values[i] = value;
        return old;
      }
      if (size >= max) return FULL;
      if ((size + 1) * 2 > keys.length) {
        grow();
        i = find(key, home);
      }
      keys[i] = key;
      numbers[i] = number;
      values[i] = value;
      size = size + 1;
      return null;
    }

    int indexOf(Object key, int home) {
      int i = find(key, home);
      return keys[i] == key ? i : -1;
    }

    /** Empties slot i and moves later entries of the same run back, so every entry stays reachable from its home. */
    void deleteAt(int i) {
      int mask = keys.length - 1;
      keys[i] = null;
      values[i] = null;
      for (int j = (i + 1) & mask; keys[j] != null; j = (j + 1) & mask) {
        int home = (mix(keys[j]) >>> 4) & mask;
        // The entry at j may move to the hole at i unless its home lies cyclically in (i, j].
        boolean stays = i <= j ? i < home && home <= j : i < home || home <= j;
        if (stays) continue;
        keys[i] = keys[j];
        numbers[i] = numbers[j];
        values[i] = values[j];
        keys[j] = null;
        values[j] = null;
        i = j;
      }
      size = size - 1;
    }

    void removeIf(Visitor visitor) {
      Object[] oldKeys = keys;
      long[] oldNumbers = numbers;
      Object[] oldValues = values;
      keys = new Object[oldKeys.length];
      numbers = new long[oldKeys.length];
      values = new Object[oldKeys.length];
      int n = 0;
      for (int i = 0; i < oldKeys.length; i++) {
        Object k = oldKeys[i];
        if (k == null || visitor.drop(k, oldNumbers[i], oldValues[i])) continue;
        int j = find(k, mix(k) >>> 4);
        keys[j] = k;
        numbers[j] = oldNumbers[i];
        values[j] = oldValues[i];
        n++;
      }
      size = n;
    }

    private void grow() {
      Object[] oldKeys = keys;
      long[] oldNumbers = numbers;
      Object[] oldValues = values;
      keys = new Object[oldKeys.length * 2];
      numbers = new long[keys.length];
      values = new Object[keys.length];
      for (int i = 0; i < oldKeys.length; i++) {
        Object k = oldKeys[i];
        if (k == null) continue;
        int j = find(k, mix(k) >>> 4);
        keys[j] = k;
        numbers[j] = oldNumbers[i];
        values[j] = oldValues[i];
      }
    }
  }
}
