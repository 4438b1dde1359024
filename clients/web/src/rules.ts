import { canonical } from "./canonical.js";
import type { Match, RawRequest, RuleSet } from "./contract.js";
import { contextByName, type Encoder } from "./encoder.js";

function matches(m: Match, request: RawRequest, items: string[], i: number): boolean {
  if (m.items.length > 0 && !m.items.includes(items[i])) return false;
  if (m.attribute !== "") {
    const v = request.attributes?.[i]?.[m.attribute];
    if (v === undefined || !m.values.includes(v)) return false;
  }
  if (m.feature !== "") {
    const x = request.features[i]?.[m.feature];
    if (x === undefined || x === null || (m.min !== null && x < m.min) || (m.max !== null && x > m.max)) return false;
  }
  return true;
}

/** rules.json applied to scores (one per candidate), in its documented order: filter, boost, sort, pin, fill.
 *  Returns the candidates' indices best first, filtered ones left out. Scores and boosts add in float64. */
export function applyRules(rules: RuleSet, scores: ArrayLike<number>, request: RawRequest, encoder: Encoder): number[] {
  const context = contextByName(encoder, request);
  const items = request.items.map((item) => canonical(item, "item"));
  const holds = (when: Record<string, string[]>) => Object.entries(when).every(([column, values]) => {
    const v = context.get(column);
    return v !== undefined && values.includes(v);
  });
  const n = request.items.length;
  const filters = rules.filter.filter((f) => holds(f.when));
  const kept = Array.from({ length: n }, (_, i) => i)
    .filter((i) => !filters.some((f) => matches(f.match, request, items, i)));
  const boosts = rules.boost.filter((b) => holds(b.when));
  const score = new Map<number, number>();
  for (const i of kept) {
    let s = Number(scores[i]);
    for (const b of boosts) if (matches(b.match, request, items, i)) s += b.by; // in the listed order
    score.set(i, s);
  }
  const order = [...kept].sort((a, b) => (score.get(b)! - score.get(a)!) || (a - b));
  const slots: (number | null)[] = order.map(() => null);
  const pinned = new Set<number>();
  for (const pin of rules.pin) {
    const best = order.findIndex((i) => !pinned.has(i) && matches(pin.match, request, items, i));
    if (best < 0) continue;
    for (let s = Math.min(best, pin.within - 1); s >= 0; s--) {
      if (slots[s] === null) {
        slots[s] = order[best];
        pinned.add(order[best]);
        break;
      }
    }
  }
  const attr = (i: number | null, name: string) => (i === null ? undefined : request.attributes?.[i]?.[name]);
  const fits = (s: number, i: number): boolean => {
    for (const cap of rules.cap) {
      const v = attr(i, cap.attribute);
      if (v !== undefined && s < cap.within &&
          slots.slice(0, cap.within).filter((j) => j !== null && attr(j, cap.attribute) === v).length >= cap.max) {
        return false;
      }
    }
    for (const run of rules.run) {
      const v = attr(i, run.attribute);
      if (v === undefined || s >= run.within) continue;
      let above = s - 1;
      while (above >= 0 && attr(slots[above], run.attribute) === v) above--;
      const end = Math.min(slots.length, run.within);
      let below = s + 1;
      while (below < end && attr(slots[below], run.attribute) === v) below++;
      if (below - above - 1 > run.max) return false;
    }
    return true;
  };
  const remaining = order.filter((i) => !pinned.has(i));
  for (let s = 0; s < slots.length; s++) {
    if (slots[s] !== null) continue;
    const k = Math.max(0, remaining.findIndex((i) => fits(s, i)));
    slots[s] = remaining[k];
    remaining.splice(k, 1);
  }
  return slots as number[];
}

/** The n real candidates by score, highest first; equal scores keep the given order. Indices. */
export function ranked(scores: ArrayLike<number>, n: number): number[] {
  return Array.from({ length: n }, (_, i) => i).sort((a, b) => (Number(scores[b]) - Number(scores[a])) || (a - b));
}
