/**
 * What one attached agent reported: its L7 series (via {@link JvmSeries}) and its own health.
 * Frames enter here already authenticated; payloads are validated here.
 *
 * @module
 */

import type { Logger } from "../../runner/probe_api.ts";
import { JvmSeries, type ProcessLabels, selectSpans } from "./aggregate.ts";
import { type Frame, FrameType } from "./frames.ts";
import { byeSchema, metricsSchema, spansSchema } from "./messages.ts";

/** Counters of the agent's health, for `l7_agent`. */
export interface AgentHealth {
  reports: number;
  overflowRows: number;
  droppedFrames: number;
  droppedSpans: number;
  internalErrors: number;
}

/** How spans are filtered (the probe's `latency_thr`, and a cap per JVM and period). */
export interface SpanFilter {
  latencyThrMs: number;
  spanLimit: number;
}

/** Reports of one agent since it was attached (or since this runner started). */
export class AgentReports {
  readonly series: JvmSeries;
  readonly health: AgentHealth = {
    reports: 0,
    overflowRows: 0,
    droppedFrames: 0,
    droppedSpans: 0,
    internalErrors: 0,
  };
  lastReportAt: number | undefined;
  /** The agent's description of its last internal error (why something records nothing), if any. */
  lastInternalError: string | undefined;
  readonly #log: Logger;
  readonly #pid: number;

  /**
   * @param proc the JVM's labels
   * @param bucketCount latency histogram buckets including +Inf
   */
  constructor(proc: ProcessLabels, bucketCount: number, log: Logger) {
    this.series = new JvmSeries(proc, bucketCount);
    this.#log = log;
    this.#pid = proc.tgid;
  }

  /**
   * Take in one frame from the agent.
   *
   * @returns the frame type when it was a valid METRICS/SPANS/BYE, else undefined (logged)
   */
  handle(f: Frame, spans: SpanFilter): number | undefined {
    switch (f.type) {
      case FrameType.METRICS: {
        const m = metricsSchema.safeParse(f.payload);
        if (!m.success) return this.#bad("METRICS", m.error.issues[0]?.message);
        this.series.addMetrics(m.data);
        this.health.reports++;
        this.health.overflowRows += m.data.overflowRows;
        this.health.droppedFrames += m.data.droppedFrames;
        this.health.internalErrors += m.data.internalErrors;
        if (m.data.lastInternalError !== undefined) {
          if (m.data.lastInternalError !== this.lastInternalError) {
            this.#log.warn("agent internal error", {
              pid: this.#pid,
              error: m.data.lastInternalError,
              total: this.health.internalErrors,
            });
          }
          this.lastInternalError = m.data.lastInternalError;
        }
        this.lastReportAt = Date.now();
        return f.type;
      }
      case FrameType.SPANS: {
        const s = spansSchema.safeParse(f.payload);
        if (!s.success) return this.#bad("SPANS", s.error.issues[0]?.message);
        this.series.setSpans(selectSpans(s.data.spans, spans.latencyThrMs, spans.spanLimit));
        this.health.droppedSpans += s.data.droppedSpans;
        return f.type;
      }
      case FrameType.BYE: {
        const b = byeSchema.safeParse(f.payload);
        this.#log.info("agent said BYE", {
          pid: this.#pid,
          reason: b.success ? b.data.reason : "",
        });
        return f.type;
      }
      default:
        this.#log.warn("ignored a frame of unknown type", { pid: this.#pid, type: f.type });
        return undefined;
    }
  }

  #bad(what: string, detail: string | undefined): undefined {
    this.#log.warn(`ignored a malformed ${what} frame`, { pid: this.#pid, detail });
    return undefined;
  }
}
