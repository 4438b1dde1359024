import { canonical, fnv1a32, indexId } from "./canonical.js";
import type {
  ContextColumn, Encoded, Features, NumericFeature, RawRequest, RawValue, Vocabularies,
} from "./contract.js";
import { ContractError } from "./errors.js";

type Lookup = { ids: Map<string, number>; oov: number };

const floorMod = (a: number, b: number) => ((a % b) + b) % b;

/** features.json's time rule: the hour ("hour") or weekday column of a unix time, in UTC. */
export function timeId(name: string, timestamp: number): number {
  const t = Math.floor(timestamp);
  return name === "hour" ? floorMod(Math.floor(t / 3600), 24) : floorMod(Math.floor(t / 86400) + 3, 7);
}

/** A raw request -> the model's four inputs, exactly as features.json says (checked by the conformance suite). */
export class Encoder {
  private readonly lookups = new Map<string, Lookup>();

  constructor(readonly features: Features, vocabularies: Vocabularies) {
    const values = new Map(vocabularies.fields.map((f) => [f.name, f.values ?? []] as [string, string[]]));
    for (const v of [...features.context.map((c) => c.vocabulary), features.items.vocabulary]) {
      if (v === null) continue;
      const list = values.get(v.field);
      if (list === undefined) throw new Error(`vocabularies.json has no field ${v.field}`);
      this.lookups.set(v.field, { ids: new Map(list.map((s, i) => [s, v.first + i] as [string, number])), oov: v.oov });
    }
  }

  private hash(value: unknown, field: string): number {
    return fnv1a32(canonical(value, field), this.features.hash);
  }

  private lookup(vocabularyField: string, value: unknown, field: string): number {
    const table = this.lookups.get(vocabularyField)!;
    return table.ids.get(canonical(value, field)) ?? table.oov;
  }

  contextId(column: ContextColumn, request: RawRequest): number {
    if (column.kind === "constant") return 0;
    if (column.kind === "time") {
      if (request.timestamp === undefined || request.timestamp === null) {
        throw new ContractError("missing_timestamp", column.name);
      }
      return timeId(column.name, request.timestamp);
    }
    const value = request.context[column.source];
    if (value === undefined || value === null) throw new ContractError("missing_context", column.source);
    if (column.kind === "index") return indexId(value, column.size, column.source);
    if (column.kind === "hash") {
      const offset = column.offset!;
      return offset + (this.hash(value, column.source) % (column.buckets! - offset));
    }
    return this.lookup(column.vocabulary!.field, value, column.source);
  }

  itemId(item: RawValue): number {
    const rule = this.features.items;
    if (rule.kind === "index") return indexId(item, rule.size, "item");
    if (rule.kind === "hash") return rule.offset! + (this.hash(item, "item") % (rule.buckets! - rule.offset!));
    return this.lookup(rule.vocabulary!.field, item, "item");
  }

  feature(f: NumericFeature, raw: Record<string, number>): number {
    if (f.constant) return 0;
    const x: unknown = raw[f.name];
    if (typeof x !== "number" || !Number.isFinite(x)) throw new ContractError("missing_feature", f.name);
    const z = (x - f.mean) * f.scale; // float64, then stored as float32, as every client does
    return f.clip === null ? z : Math.min(Math.max(z, -f.clip), f.clip);
  }

  private checkLengths(request: RawRequest): void {
    const n = request.items.length;
    if (request.features.length !== n) throw new ContractError("length_mismatch", "features");
    if (request.attributes && request.attributes.length > 0 && request.attributes.length !== n) {
      throw new ContractError("length_mismatch", "attributes");
    }
  }

  /** One call's tensors: at most k candidates. */
  encode(request: RawRequest): Encoded {
    const c = this.features;
    const k = c.candidates.k, h = c.history.length, d = c.candidate_features.length, n = request.items.length;
    if (n > k) throw new ContractError("too_many_candidates", "items", `${n} > k = ${k}`);
    this.checkLengths(request);
    const context = Int32Array.from(c.context, (col) => this.contextId(col, request));
    const history = new Int32Array(h).fill(c.items.padding);
    (request.history ?? []).slice(0, h).forEach((item, i) => (history[i] = this.itemId(item)));
    const candidates = new Int32Array(k).fill(c.items.padding);
    request.items.forEach((item, i) => (candidates[i] = this.itemId(item)));
    const features = new Float32Array(k * d); // padding slots stay 0.0
    request.features.forEach((raw, slot) =>
      c.candidate_features.forEach((f, j) => (features[slot * d + j] = this.feature(f, raw))));
    return { context, history, candidates, candidate_features: features };
  }

  /** features.json candidates.merge: the request in calls of at most k candidates, in the given order. */
  calls(request: RawRequest): RawRequest[] {
    this.checkLengths(request);
    const k = this.features.candidates.k, n = request.items.length, out: RawRequest[] = [];
    for (let s = 0; s < Math.max(n, 1); s += k) {
      out.push({
        ...request,
        items: request.items.slice(s, s + k),
        features: request.features.slice(s, s + k),
        attributes: request.attributes && request.attributes.length > 0 ? request.attributes.slice(s, s + k) : [],
      });
    }
    return out;
  }
}

/** The context as rules.json's `when` reads it: column name -> canonical value (time columns: their number). */
export function contextByName(encoder: Encoder, request: RawRequest): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of encoder.features.context) {
    if (c.kind === "time") {
      if (request.timestamp !== undefined && request.timestamp !== null) {
        out.set(c.name, String(timeId(c.name, request.timestamp)));
      }
    } else if (c.kind !== "constant") {
      const v = request.context[c.source];
      if (v !== undefined && v !== null) out.set(c.name, canonical(v, c.source));
    }
  }
  return out;
}
