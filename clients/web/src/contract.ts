// The files of a bundle this package reads, as their JSON Schemas (schemas/*.schema.json in edgeship) describe them.

/** The features.json versions this package reads. */
export const SUPPORTED_CONTRACT_VERSIONS: readonly number[] = [2];

export interface VocabularyRef { file: string; field: string; count: number; first: number; oov: number }

export interface ContextColumn {
  column: number;
  name: string;
  source: string;
  kind: "vocabulary" | "hash" | "time" | "index" | "constant";
  size: number;
  rule: string;
  vocabulary: VocabularyRef | null;
  buckets: number | null;
  offset: number | null;
}

export interface ItemRule {
  kind: "vocabulary" | "hash" | "index";
  size: number;
  rule: string;
  padding: number;
  vocabulary: VocabularyRef | null;
  buckets: number | null;
  offset: number | null;
  oov: number | null;
}

export interface NumericFeature {
  index: number;
  name: string;
  mean: number;
  scale: number;
  clip: number | null;
  constant: boolean;
}

export interface InputRecord { name: string; dtype: string; shape: number[] }

/** features.json: the raw-input contract. */
export interface Features {
  schema_version: number;
  inputs: InputRecord[];
  context: ContextColumn[];
  time: Record<string, string> | null;
  items: ItemRule;
  history: { length: number; rule: string };
  candidate_features: NumericFeature[];
  candidates: { k: number; rule: string; merge: string };
  output: { name: string; shape: number[]; meaning: string; ranking: string };
  hash: { name: string; offset_basis: number; prime: number; rule: string };
  raw_values: Record<string, string>;
  errors: Record<string, string>;
}

/** vocabularies.json. */
export interface Vocabularies {
  fields: { name: string; values?: string[] }[];
}

/** A raw value as an app holds it: read by raw_values.canonical. */
export type RawValue = string | number | boolean;

/** A request as an app holds it. */
export interface RawRequest {
  items: RawValue[]; // the candidates' item ids, in the order the app got them
  features: Record<string, number>[]; // per candidate, its raw numeric features by name
  context: Record<string, RawValue | null>; // raw context values by features.json's `source` key
  timestamp?: number | null; // unix seconds (UTC), when a context column is a time field
  history?: RawValue[]; // recent item ids, most recent first
  attributes?: Record<string, string>[]; // per candidate, its attributes by name (only rules.json reads them)
}

/** The four inputs of one call, batch dimension dropped (row-major). */
export interface Encoded {
  context: Int32Array;
  history: Int32Array;
  candidates: Int32Array;
  candidate_features: Float32Array;
}

/** rules.json's `rules`. */
export interface Match {
  items: string[];
  attribute: string;
  values: string[];
  feature: string;
  min: number | null;
  max: number | null;
}

export interface RuleSet {
  filter: { match: Match; when: Record<string, string[]> }[];
  boost: { match: Match; by: number; when: Record<string, string[]> }[];
  pin: { match: Match; within: number }[];
  cap: { attribute: string; max: number; within: number }[];
  run: { attribute: string; max: number; within: number }[];
}

export const NO_RULES: RuleSet = { filter: [], boost: [], pin: [], cap: [], run: [] };

/** fallback.json. */
export interface FallbackTable {
  segments: { column: number; name: string; divisor: number }[];
  global_rate: number;
  item_rates: Record<string, number>;
  segment_rates: Record<string, Record<string, number>>;
}
