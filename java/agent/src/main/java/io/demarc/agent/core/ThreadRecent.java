package io.demarc.agent.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * What each thread met last, in one block of {@link #STRIDE} entries per thread id (threads whose
 * ids share a block take turns in it): the texts of its last call, its last connection's facts,
 * gRPC method and client URL. A call's hooks find them in the block's one or two cache lines,
 * where separate tables cost a line each, plus a line for each key's hash (a library object's
 * header for its identity hash, a String's for its hash). In a JVM sharing its CPU those lines are
 * misses, ~100 ns each.
 *
 * <p>Each entry is one immutable object (a String or a record), written and read whole, so a read
 * never mixes two threads' values; each reader checks that the entry is for its key. Entries may
 * lead to the application's objects (a connection's facts hold it): {@link #clear} drops them all
 * when the recorder goes inactive, and {@link #putChecked} undoes a store that raced with that.
 */
final class ThreadRecent {
  static final int LOCAL_IP = 0;
  static final int PEER_IP = 1;
  static final int SERVICE = 2;
  static final int METHOD = 3;
  /** {@link ConnectionFacts}, of the library object the thread's last call went over. */
  static final int FACTS = 4;
  /** {@link MethodLabels.Grpc}. */
  static final int GRPC = 5;
  /** {@link MethodLabels.ClientUrl}. */
  static final int URL = 6;
  /** Entries per thread: 8 references, 32 bytes with compressed pointers. */
  static final int STRIDE = 8;
  private static final int THREADS = 64;
  private static final Object[] SLOTS = new Object[THREADS * STRIDE];
  private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Object[].class);

  private ThreadRecent() {}

  /** The index of this thread's block. */
  static int block() {
    return ((int) Thread.currentThread().getId() & (THREADS - 1)) * STRIDE;
  }

  static Object get(int block, int entry) {
    return SLOTS[block + entry];
  }

  /** Stores an entry that holds no application object (a String, a label). */
  static void put(int block, int entry, Object value) {
    SLOTS[block + entry] = value;
  }

  /** Stores an entry that may hold an application object: taken out again if a detach raced with it. */
  static void putChecked(int block, int entry, Object value) {
    int i = block + entry;
    SLOT.setVolatile(SLOTS, i, value);
    // Either this thread sees the recorder off here, or the clearing came after the store: both volatile.
    if (!Recorder.active()) SLOT.compareAndSet(SLOTS, i, value, (Object) null);
  }

  /**
   * {@code text}, or the equal String that entry {@code entry} of the block held (which it then
   * keeps): a thread's texts that are equal to its last ones become the same instance, compared
   * later by identity.
   */
  static String same(int block, int entry, String text) {
    int i = block + entry;
    Object last = SLOTS[i];
    if (last == text) return text;
    if (last instanceof String s && s.equals(text)) return s;
    SLOTS[i] = text;
    return text;
  }

  /** Forgets every entry (the recorder went inactive). */
  static void clear() {
    for (int i = 0; i < SLOTS.length; i++) SLOT.setVolatile(SLOTS, i, (Object) null);
  }
}
