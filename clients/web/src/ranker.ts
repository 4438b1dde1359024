import type { Bundle } from "./bundle.js";
import type { RawRequest, RawValue } from "./contract.js";
import { Encoder } from "./encoder.js";
import { fallbackScores } from "./fallback.js";
import { applyRules } from "./rules.js";
import type { ScoringModel } from "./scoring.js";

export interface Ranking {
  items: RawValue[]; // best first, after rules.json (filtered candidates left out)
  scores: number[] | null; // the model's, one per candidate in the request's order; null when it did not rank
  by: "model" | "fallback.json" | "given order";
  reason: string | null; // why the model did not rank, or null
}

/** Ranks raw requests with a bundle's model (any n: calls of k merged, features.json candidates.merge), then
 *  rules.json; when the model is missing or a call fails, fallback.json under the same rules, else the given
 *  order under the rules. */
export class Ranker {
  readonly encoder: Encoder;

  constructor(readonly bundle: Bundle, readonly model: ScoringModel | null) {
    this.encoder = new Encoder(bundle.features, bundle.vocabularies);
  }

  /** The model's scores of every candidate: one call per k, padded slots dropped. */
  async score(request: RawRequest): Promise<number[]> {
    if (this.model === null) throw new Error("no model");
    const scores: number[] = [];
    for (const call of this.encoder.calls(request)) {
      const out = await this.model.score(this.encoder.encode(call));
      scores.push(...Array.from(out.subarray(0, call.items.length)));
    }
    return scores;
  }

  async rank(request: RawRequest): Promise<Ranking> {
    try {
      const scores = await this.score(request);
      return { items: this.order(scores, request), scores, by: "model", reason: null };
    } catch (e) {
      return { ...this.fallback(request), scores: null, reason: String(e) };
    }
  }

  /** fallback.json's ranking under the rules; the given order under the rules when there is no table or it
   *  cannot rank this request either. */
  fallback(request: RawRequest): { items: RawValue[]; by: "fallback.json" | "given order" } {
    if (this.bundle.fallback !== null) {
      try {
        return { items: this.order(fallbackScores(this.bundle.fallback, request, this.encoder), request),
                 by: "fallback.json" };
      } catch {
        // the given order below
      }
    }
    return { items: this.order(request.items.map(() => 0), request), by: "given order" };
  }

  private order(scores: ArrayLike<number>, request: RawRequest): RawValue[] {
    return applyRules(this.bundle.rules, scores, request, this.encoder).map((i) => request.items[i]);
  }
}

/** Shadow mode: the current release's ranking is shown, the candidate's is computed for the same request and
 *  logged beside it (requestEvents' `shadow`), never shown. Both run; a candidate failure leaves the shown ranking
 *  as it is. */
export async function rankWithShadow(current: Ranker, candidate: Ranker, request: RawRequest
): Promise<{ shown: Ranking; shadow: Ranking }> {
  const [shown, shadow] = await Promise.all([current.rank(request), candidate.rank(request)]);
  return { shown, shadow };
}
