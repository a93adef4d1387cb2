/**
 * Payloads of the agent ⇄ runner channel (java/PROTOCOL.md), validated where they enter the runner.
 *
 * @module
 */

import { z } from "zod";

const instrumentation = z.object({
  name: z.string(),
  active: z.boolean(),
  reason: z.string().optional(),
}).passthrough();

/** HELLO (agent → runner): who the agent is and which instrumentations it installed. */
export const helloSchema = z.object({
  secret: z.string(),
  pid: z.number().int(),
  agentVersion: z.string(),
  jvm: z.object({ vendor: z.string().optional(), version: z.string().optional() }).passthrough()
    .default({}),
  instrumentations: z.array(instrumentation).default([]),
}).passthrough();

export type Hello = z.infer<typeof helloSchema>;

/** INSTRUMENTATIONS (agent → runner): HELLO's list again, sent whenever it changed since. */
export const instrumentationsSchema = z.object({
  instrumentations: z.array(instrumentation),
}).passthrough();

const count = z.number().default(0);

/** One aggregate of one report period, as the agent sends it. */
export const agentRowSchema = z.object({
  protocol: z.string(),
  role: z.string(), // "client" | "server" ("overflow" on the cardinality-cap row)
  ssl: z.boolean().default(false),
  localIp: z.string().default(""),
  localPort: z.number().int().default(0),
  peerIp: z.string().default(""),
  peerPort: z.number().int().default(0),
  service: z.string().default(""),
  method: z.string().default(""),
  statusClass: z.string().default("ok"),
  requests: count,
  responses: count,
  clientErrors: count,
  serverErrors: count,
  latencyCounts: z.array(z.number()).default([]),
  latencySumNs: count,
  bytesSent: z.number().default(-1),
  bytesReceived: z.number().default(-1),
  library: z.string().default(""),
}).passthrough();

export type AgentRow = z.infer<typeof agentRowSchema>;

/** METRICS (agent → runner): one report period. */
export const metricsSchema = z.object({
  periodStartMs: z.number(),
  periodEndMs: z.number(),
  rows: z.array(agentRowSchema),
  overflowRows: count,
  droppedFrames: count,
  internalErrors: count,
  /** The agent's description of an internal error of this period (at most one a second is described). */
  lastInternalError: z.string().optional(),
}).passthrough();

export type Metrics = z.infer<typeof metricsSchema>;

/** One sampled call. */
export const spanSchema = z.object({
  traceId: z.string(),
  spanId: z.string(),
  startEpochNs: z.number(),
  durationNs: z.number(),
  protocol: z.string(),
  role: z.string(),
  ssl: z.boolean().default(false),
  localIp: z.string().default(""),
  localPort: z.number().int().default(0),
  peerIp: z.string().default(""),
  peerPort: z.number().int().default(0),
  service: z.string().default(""),
  method: z.string().default(""),
  status: z.union([z.string(), z.number()]).transform(String).default(""),
  error: z.string().optional(),
}).passthrough();

export type Span = z.infer<typeof spanSchema>;

/** SPANS (agent → runner). */
export const spansSchema = z.object({
  spans: z.array(spanSchema),
  droppedSpans: count,
}).passthrough();

/** BYE (agent → runner). */
export const byeSchema = z.object({ reason: z.string().default("") }).passthrough();

/** CONFIG (runner → agent). */
export interface AgentConfig {
  reportPeriodMs: number;
  metrics: boolean;
  bytes: boolean;
  trace: boolean;
  traceSampleRatio: number;
  cardinalityCap: number;
  latencyBoundsNs: number[];
  /** Instrumentations the agent must leave uninstalled (names from the manifest's `attach`). */
  disabled: string[];
}
