package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Library methods called from bootstrap code ({@link Reflect}): each class gets its own method
 * whichever came first, a class without it gives the default (not counted as an error), and a
 * method that throws gives the default and counts one.
 */
class ReflectTest {
  public static class Counter {
    public long count() {
      return 7;
    }

    public String label() {
      return "first";
    }
  }

  public static class OtherCounter {
    public int count() { // an int getter, read as a long
      return 42;
    }

    public String label() {
      return "other";
    }
  }

  public static class Attachments {
    public String getAttachment(String key) {
      return "k".equals(key) ? "v" : null;
    }
  }

  public static class Failing {
    public long count() {
      throw new IllegalStateException("library failure");
    }
  }

  @Test
  void everyClassGetsItsOwnMethodWhicheverWasLinkedFirst() {
    Reflect count = Reflect.longGetter("count");
    Reflect label = new Reflect("label");
    long errors = Recorder.internalErrors();
    for (int i = 0; i < 20_000; i++) { // long enough for the JIT to compile the callers
      assertEquals(7L, count.callLong(new Counter(), -1));
      assertEquals(42L, count.callLong(new OtherCounter(), -1));
      assertEquals(-1L, count.callLong("no count here", -1));
      assertEquals(-1L, count.callLong(null, -1));
      assertEquals("first", label.call(new Counter(), null));
      assertEquals("other", label.call(new OtherCounter(), null));
      assertNull(label.call(new Object(), null));
    }
    assertEquals(errors, Recorder.internalErrors(), "a missing method is no internal error");
  }

  @Test
  void aClassWithoutTheMethodLinkedFirstLeavesOthersWorking() {
    Reflect count = Reflect.longGetter("count");
    assertEquals(-5L, count.callLong(new Object(), -5));
    assertEquals(7L, count.callLong(new Counter(), -5));
    assertEquals(-5L, count.callLong(new Object(), -5));
  }

  @Test
  void aThrowingMethodGivesTheDefaultAndCountsAnError() {
    Reflect count = Reflect.longGetter("count");
    long errors = Recorder.internalErrors();
    assertEquals(-1L, count.callLong(new Failing(), -1));
    assertEquals(7L, count.callLong(new Counter(), -1));
    assertEquals(-1L, count.callLong(new Failing(), -1));
    assertEquals(errors + 2, Recorder.internalErrors());
  }

  @Test
  void theInlineCacheLinksTheFirstClassesAndAnswersEveryOneRight() {
    Reflect size = Reflect.longGetter("size"); // an int getter of six JDK classes: more than the cache links
    Object[] kinds = {new ArrayList<>(List.of(1)), new LinkedList<>(List.of(1, 2)), new HashSet<>(List.of(1, 2, 3)),
        new TreeSet<>(List.of(1, 2, 3, 4)), new ArrayDeque<>(List.of(1, 2, 3, 4, 5)),
        new HashMap<>(Map.of(1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6))};
    assertEquals(0, size.linked());
    for (int i = 0; i < 20_000; i++) { // compiled with the linked classes inline
      for (int k = 0; k < kinds.length; k++) assertEquals(k + 1, size.callLong(kinds[k], -1));
      assertEquals(-1L, size.callLong("no size here", -1));
    }
    assertEquals(Reflect.MAX_LINKED, size.linked(), "the first classes seen, up to the cache's size");
  }

  @Test
  void detachUnlinksTheCachesAndTheyLinkAgain() {
    Reflect count = Reflect.longGetter("count");
    assertEquals(7L, count.callLong(new Counter(), -1));
    assertEquals(42L, count.callLong(new OtherCounter(), -1));
    assertEquals(2, count.linked());
    Recorder.activate(false); // what detach does
    assertEquals(0, count.linked(), "no application class held after detach");
    assertEquals(42L, count.callLong(new OtherCounter(), -1));
    assertEquals(1, count.linked());
  }

  @Test
  void aStringArgumentMethodIsCalledWithItsArgument() {
    Reflect get = Reflect.withStringArgument("getAttachment");
    assertEquals("v", get.callWith(new Attachments(), "k", "none"));
    assertNull(get.callWith(new Attachments(), "missing", "none"));
    assertEquals("none", get.callWith(new Counter(), "k", "none"));
  }
}
