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

/** Batches the log's lines for a sink the app owns (a file append, an HTTP POST): lines leave in order, `batch` at a
 *  time or on flush(); a sink that throws keeps its lines queued, in front, for the next flush; past `maxLines`
 *  queued the oldest are dropped and counted, so a phone offline for days does not grow the queue without bound. */
export class ImpressionLogger {
  private queue: string[] = [];
  /** lines dropped because the queue was full */
  dropped = 0;

  constructor(private readonly sink: (lines: string) => Promise<void> | void, private readonly batch = 100,
    private readonly maxLines = 10_000) {}

  get pending(): number { return this.queue.length; }

  async log(events: readonly LogEvent[]): Promise<void> {
    for (const e of events) this.queue.push(JSON.stringify(e));
    this.trim();
    if (this.queue.length >= this.batch) await this.flush();
  }

  /** true when every queued line reached the sink */
  async flush(): Promise<boolean> {
    if (this.queue.length === 0) return true;
    const lines = this.queue.splice(0);
    try {
      await this.sink(lines.join("\n") + "\n");
      return true;
    } catch {
      this.queue.unshift(...lines);
      this.trim();
      return false;
    }
  }

  private trim(): void {
    const over = this.queue.length - this.maxLines;
    if (over > 0) {
      this.queue.splice(0, over);
      this.dropped += over;
    }
  }
}
