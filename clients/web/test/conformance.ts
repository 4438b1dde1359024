// The conformance suite (clients/conformance) through this package: every case, its group's verdict in a report.
// Usage: node build/test/conformance.js SUITE_DIR [REPORT.json]; exit 1 if any case fails. The served release's
// model runs in onnxruntime-node.
import * as fs from "node:fs";
import * as path from "node:path";
import ort from "onnxruntime-node";
import { admit, applyRules, bucket, ContractError, Encoder, explore, fallbackScores, NO_RULES, OnnxScoringModel,
  openRelease, publicKey, Ranker, releaseBundle, ReleaseError, ReleaseStore, requestEvents, tapEvent, type Encoded,
  type FallbackTable, type Features, type PublicKey, type RawRequest, type RuleSet, type Vocabularies }
  from "../src/index.js";

interface Case {
  id: string; group: string; contract: string; request: RawRequest; scores: number[] | null; rules: RuleSet | null;
  expect: { calls?: Record<string, unknown>[]; order?: unknown[]; scores?: number[]; error?: string; field?: string };
}

const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x as number]);

function sameTensors(got: Encoded, want: Record<string, unknown>): string | null {
  for (const [name, value] of Object.entries(want)) {
    const g = Array.from(got[name as keyof Encoded]), w = flat(value);
    const close = name === "candidate_features"
      ? g.length === w.length && g.every((x, i) => Math.abs(x - w[i]) <= 1e-6)
      : g.length === w.length && g.every((x, i) => x === w[i]);
    if (!close) return `${name}: got ${JSON.stringify(g)}, want ${JSON.stringify(w)}`;
  }
  return null;
}

function check(c: Case, encoder: Encoder, table: FallbackTable): string | null {
  const e = c.expect;
  try {
    if (c.group === "encode" || c.group === "errors") {
      const got = encoder.encode(c.request);
      return e.error ? `encoded; want error ${e.error}` : sameTensors(got, e.calls![0]);
    }
    if (c.group === "merge") {
      const calls = encoder.calls(c.request).map((r) => encoder.encode(r));
      if (calls.length !== e.calls!.length) return `${calls.length} calls, want ${e.calls!.length}`;
      for (let i = 0; i < calls.length; i++) {
        const wrong = sameTensors(calls[i], e.calls![i]);
        if (wrong) return `call ${i}: ${wrong}`;
      }
      return order(applyRules(NO_RULES, c.scores!, c.request, encoder), c);
    }
    if (c.group === "fallback") {
      const scores = fallbackScores(table, c.request, encoder);
      if (!scores.every((s, i) => Math.abs(s - e.scores![i]) <= 1e-12)) return `scores ${JSON.stringify(scores)}`;
      return order(applyRules(NO_RULES, scores, c.request, encoder), c);
    }
    return order(applyRules(c.rules!, c.scores!, c.request, encoder), c);
  } catch (err) {
    if (!(err instanceof ContractError)) return `threw ${String(err)}`;
    if (err.code !== e.error || err.field !== e.field) return `error ${err.code} ${err.field}, want ${e.error} ${e.field}`;
    return null;
  }
}

function order(indices: number[], c: Case): string | null {
  const got = indices.map((i) => c.request.items[i]);
  return JSON.stringify(got) === JSON.stringify(c.expect.order) ? null
    : `order ${JSON.stringify(got)}, want ${JSON.stringify(c.expect.order)}`;
}

const [suite, report] = process.argv.slice(2);
const read = (...parts: string[]) => JSON.parse(fs.readFileSync(path.join(suite, ...parts), "utf8"));
const doc = read("cases.json") as { contract_version: number; cases: Case[] };
const encoders = new Map<string, [Encoder, FallbackTable]>();
const groups: Record<string, { passed: number; failed: string[] }> = {};
for (const c of doc.cases) {
  if (!encoders.has(c.contract)) {
    encoders.set(c.contract, [new Encoder(read("contracts", c.contract, "features.json") as Features,
                                          read("contracts", c.contract, "vocabularies.json") as Vocabularies),
                              read("contracts", c.contract, "fallback.json") as FallbackTable]);
  }
  const [encoder, table] = encoders.get(c.contract)!;
  const wrong = check(c, encoder, table);
  const g = (groups[c.group] ??= { passed: 0, failed: [] });
  if (wrong === null) g.passed++;
  else g.failed.push(`${c.id}: ${wrong}`);
}
// releases/: signed archives to accept or refuse with a code, and users' rollout buckets
interface ReleaseCase {
  name: string; archive: string; keys: string[]; client_version: string; installed: string | null;
  expected: { error?: string; version?: string; rollout?: number; salt?: string; kill_switch?: boolean;
              previous?: string | null; release_sha256?: string; files?: string[] };
}
const rel = read("releases", "releases.json") as {
  contracts: number[]; keys: Record<string, string>; cases: ReleaseCase[];
  buckets: { user: string; salt: string; bucket: number; in_rollout: Record<string, boolean> }[];
};
const archive = (name: string) => new Uint8Array(fs.readFileSync(path.join(suite, "releases", name)));
const keys = new Map<string, PublicKey>();
for (const [name, file] of Object.entries(rel.keys)) {
  keys.set(name, await publicKey(fs.readFileSync(path.join(suite, "releases", file), "utf8")));
}

async function checkRelease(c: ReleaseCase): Promise<string | null> {
  const want = c.expected;
  try {
    const release = await openRelease(archive(c.archive), c.keys.map((k) => keys.get(k)!));
    admit(release.record, c.client_version, rel.contracts, c.installed);
    if (want.error) return `accepted; want ${want.error}`;
    const r = release.record;
    const got = { version: r.version, rollout: r.rollout, salt: r.salt, kill_switch: r.kill_switch,
                  previous: r.previous?.version ?? null, release_sha256: release.releaseSha256,
                  files: [...release.files.keys()].sort() };
    return JSON.stringify(got) === JSON.stringify(want) ? null : `got ${JSON.stringify(got)}`;
  } catch (err) {
    if (!(err instanceof ReleaseError)) return `threw ${String(err)}`;
    return err.code === want.error ? null : `error ${err.code}, want ${want.error ?? "ok"}`;
  }
}

const releaseGroup = (groups["release"] ??= { passed: 0, failed: [] });
for (const c of rel.cases) {
  const wrong = await checkRelease(c);
  if (wrong === null) releaseGroup.passed++;
  else releaseGroup.failed.push(`${c.name}: ${wrong}`);
}
type Step = { install?: string; rollback?: boolean; expect?: string | boolean; users?: Record<string, string | null>;
              restart?: { floor: string | null; installed: string; previous: string | null } };
const storeGroup = (groups["store"] ??= { passed: 0, failed: [] });
for (const scenario of (rel as unknown as { scenarios: { name: string; steps: Step[] }[] }).scenarios) {
  const client = (rel as unknown as { client_version: string }).client_version;
  let store = new ReleaseStore([keys.get("test")!], client, rel.contracts);
  let wrong: string | null = null;
  for (const [i, step] of scenario.steps.entries()) {
    if (step.install) {
      const got = await store.install(archive(step.install));
      if (got !== step.expect) wrong = `step ${i}: install ${step.install} gave ${got}, want ${step.expect}`;
    } else if (step.restart) {
      const r = step.restart;
      store = new ReleaseStore([keys.get("test")!], client, rel.contracts, r.floor);
      const got = await store.restore(archive(r.installed), r.previous === null ? null : archive(r.previous));
      if (got !== step.expect) wrong = `step ${i}: restore ${r.installed} gave ${got}, want ${step.expect}`;
    } else if (step.rollback) {
      const got = store.rollback();
      if (got !== step.expect) wrong = `step ${i}: rollback gave ${got}`;
    } else {
      for (const [user, want] of Object.entries(step.users!)) {
        const got = (await store.forUser(user))?.record.version ?? null;
        if (got !== want) wrong = `step ${i}: ${user} ranks with ${got}, want ${want}`;
      }
    }
    if (wrong) break;
  }
  if (wrong === null) storeGroup.passed++;
  else storeGroup.failed.push(`${scenario.name}: ${wrong}`);
}

// served.tar: a real bundle as a release: its files make the bundle, its model file's bytes the session
type Served = {
  archive: string; model_file: string; cases: { what: string; request: RawRequest; ranked: unknown[] }[];
};
const served = (rel as unknown as { served: Served }).served;
const servedGroup = (groups["served"] ??= { passed: 0, failed: [] });
const release = await openRelease(archive(served.archive), [keys.get("test")!]);
const servedBundle = releaseBundle(release);
const session = await ort.InferenceSession.create(release.files.get(served.model_file)!);
const servedRanker = new Ranker(servedBundle, new OnnxScoringModel(session, ort.Tensor, servedBundle.features));
for (const c of served.cases) {
  const got = await servedRanker.rank(c.request);
  if (got.by === "model" && JSON.stringify(got.items) === JSON.stringify(c.ranked)) servedGroup.passed++;
  else servedGroup.failed.push(`${c.what}: ranked by ${got.by} (${got.reason}): ${JSON.stringify(got.items)}`);
}

const bucketGroup = (groups["bucket"] ??= { passed: 0, failed: [] });
for (const b of rel.buckets) {
  const value = await bucket(b.user, b.salt);
  const wrong = value !== b.bucket ? `bucket ${value}, want ${b.bucket}`
    : Object.entries(b.in_rollout).find(([f, inside]) => (value < Number(f)) !== inside) ? "in_rollout differs" : null;
  if (wrong === null) bucketGroup.passed++;
  else bucketGroup.failed.push(`${JSON.stringify(b.user)}: ${wrong}`);
}

// exploration.json: the slate and propensities for given draws
const exploration = read("exploration.json") as {
  cases: { name: string; order: number[]; slots: number; epsilon: number; draws: number[];
           expected: { shown: number[]; propensities: number[]; explored: boolean } }[];
};
const exploreGroup = (groups["exploration"] ??= { passed: 0, failed: [] });
for (const c of exploration.cases) {
  const got = explore(c.order, c.slots, c.epsilon, c.draws);
  const same = JSON.stringify(got.shown) === JSON.stringify(c.expected.shown) && got.explored === c.expected.explored
    && got.propensities.length === c.expected.propensities.length
    && got.propensities.every((p, i) => Math.abs(p - c.expected.propensities[i]) <= 1e-15);
  if (same) exploreGroup.passed++;
  else exploreGroup.failed.push(`${c.name}: got ${JSON.stringify(got)}`);
}

// exploration.json logging: the events a client writes for a ranked request, compared as parsed JSON
const logGroup = (groups["logging"] ??= { passed: 0, failed: [] });
for (const l of (exploration as unknown as { logging: { case: string; args: Record<string, unknown>;
                                                        expected: unknown[] }[] }).logging) {
  const c = exploration.cases.find((x) => x.name === l.case)!;
  const a = l.args as { request_id: string; user: string; arm: string; policy: "model"; timestamp: number;
                        items: unknown[]; epsilon: number; latency_ms?: number; error?: string | null;
                        model_version?: string; shadow?: [string, unknown[]]; bucket?: number };
  const slate = explore(c.order, c.slots, c.epsilon, c.draws);
  const got = [...requestEvents({ requestId: a.request_id, user: a.user, arm: a.arm, bucket: a.bucket, policy: a.policy,
                                  timestamp: a.timestamp, modelVersion: a.model_version, epsilon: a.epsilon,
                                  latencyMs: a.latency_ms, error: a.error,
                                  shadow: a.shadow && { modelVersion: a.shadow[0], items: a.shadow[1] } },
                                a.items, slate),
               tapEvent(a.request_id, a.items[slate.shown[0]], 1764720003.0)];
  const same = JSON.stringify(JSON.parse(JSON.stringify(got))) === JSON.stringify(l.expected);
  if (same) logGroup.passed++;
  else logGroup.failed.push(`${l.case}: got ${JSON.stringify(got)}`);
}

if (report) fs.writeFileSync(report, JSON.stringify({ client: "web (Node)", groups }, null, 2));
for (const [name, g] of Object.entries(groups)) {
  console.log(`${name}: ${g.passed} passed, ${g.failed.length} failed`);
  for (const f of g.failed) console.log(`  FAILED ${f}`);
}
process.exit(Object.values(groups).some((g) => g.failed.length > 0) ? 1 : 0);
