import type { FallbackTable, RawRequest } from "./contract.js";
import type { Encoder } from "./encoder.js";

/** fallback.json's rate of each candidate as the score rules.json adds to: log(r / (1 - r)), r clamped to
 *  [1e-6, 1 - 1e-6]. A segment's rate, else the item's, else the global rate. Any n: no model call. */
export function fallbackScores(table: FallbackTable, request: RawRequest, encoder: Encoder): number[] {
  const context = encoder.features.context.map((c) => encoder.contextId(c, request));
  const key = table.segments.map((s) => String(Math.floor(context[s.column] / s.divisor))).join(",");
  const segment = table.segment_rates[key] ?? {};
  return request.items.map((item) => {
    const id = String(encoder.itemId(item));
    const rate = segment[id] ?? table.item_rates[id] ?? table.global_rate;
    const r = Math.min(Math.max(rate, 1e-6), 1 - 1e-6);
    return Math.log(r / (1 - r));
  });
}
