package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

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
  void aStringArgumentMethodIsCalledWithItsArgument() {
    Reflect get = Reflect.withStringArgument("getAttachment");
    assertEquals("v", get.callWith(new Attachments(), "k", "none"));
    assertNull(get.callWith(new Attachments(), "missing", "none"));
    assertEquals("none", get.callWith(new Counter(), "k", "none"));
  }
}
