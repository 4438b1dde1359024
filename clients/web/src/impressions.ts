// The impression log a client writes (JSON Lines; schemas/impressions.schema.json; docs/releases.md): for one
// ranked request its request event and one impression per shown item with the propensity the exploration policy
// gave it; a tap event later. One JSON object per line: JSON.stringify(event) + "\n".
import { canonical } from "./canonical.js";
import type { Slate } from "./exploration.js";

export interface RequestInfo {
  requestId: string; user: string; arm: string; policy: "model" | "fallback" | "given"; timestamp: number;
  /** the user's rollout bucket (bucket(user, salt)) under the newest installed release's salt */
  bucket?: number | null;
  modelVersion?: string | null; epsilon?: number | null; latencyMs?: number | null; error?: string | null;
  /** the raw request as ranked, for `edgeship evaluate` */
  request?: Record<string, unknown>;
  /** shadow mode: the candidate model's version and its ranking of the same request (scored, never shown) */
  shadow?: { modelVersion: string | null; items: readonly unknown[] };
}

export type LogEvent = Record<string, unknown>;

export function requestEvents(info: RequestInfo, items: readonly unknown[], slate: Slate): LogEvent[] {
  const head: LogEvent = {
    event: "request", request_id: info.requestId, user: info.user, arm: info.arm, bucket: info.bucket ?? null,
    policy: info.policy,
    timestamp: info.timestamp, model_version: info.modelVersion ?? null, epsilon: info.epsilon ?? null,
    slots: slate.shown.length, latency_ms: info.latencyMs ?? null, error: info.error ?? null,
  };
  if (info.request !== undefined) head.request = info.request;
  if (info.shadow !== undefined) {
    head.shadow = { model_version: info.shadow.modelVersion,
                    items: info.shadow.items.slice(0, slate.shown.length).map((i) => canonical(i, "items")) };
  }
  return [head, ...slate.shown.map((i, k): LogEvent => ({
    event: "impression", request_id: info.requestId, position: k, item: canonical(items[i], "items"),
    propensity: slate.propensities[k], explored: slate.explored,
  }))];
}

export function tapEvent(requestId: string, item: unknown, timestamp: number | null = null): LogEvent {
  return { event: "tap", request_id: requestId, item: canonical(item, "items"), timestamp };
}
