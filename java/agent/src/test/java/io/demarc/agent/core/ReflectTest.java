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
  void theInlineCacheLinksTheFirstClassesAndAnswersEveryOneRight() {
    Reflect count = Reflect.longGetter("count");
    Counter[] kinds = { // six classes: more than the cache links
        new Counter() {
          @Override public long count() {
            return 1;
          }
        },
        new Counter() {
          @Override public long count() {
            return 2;
          }
        },
        new Counter() {
          @Override public long count() {
            return 3;
          }
        },
        new Counter() {
          @Override public long count() {
            return 4;
          }
        },
        new Counter() {
          @Override public long count() {
            return 5;
          }
        },
        new Counter(),
    };
    assertEquals(0, count.linked());
    for (int i = 0; i < 20_000; i++) { // compiled with the linked classes inline
      for (int k = 0; k < kinds.length - 1; k++) assertEquals(k + 1, count.callLong(kinds[k], -1));
      assertEquals(7L, count.callLong(kinds[kinds.length - 1], -1));
      assertEquals(-1L, count.callLong("no count here", -1));
    }
    assertEquals(Reflect.MAX_LINKED, count.linked(), "the first classes seen, up to the cache's size");
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
