// An app on this package, driven by simulated users (studies/release_loop.py): it installs signed releases into a
// ReleaseStore in the order given (a refused one changes nothing), ranks each visit with the release its user's
// bucket picks (optionally a candidate release in shadow), explores with exact propensities, and writes the
// impression log a real app would (requestEvents, tapEvent). The user's tap is drawn from the visit's known click
// probabilities and the position's examination probability: the one thing no app knows.
// Usage: node build/test/app_simulator.js PLAN.json    (the plan: see `Plan`; a summary goes to stdout as JSON)
import * as fs from "node:fs";
import * as readline from "node:readline";
import ort from "onnxruntime-node";
import {
  bucket, exploreWith, ImpressionLogger, OnnxScoringModel, openRelease, publicKey, Ranker, rankWithShadow,
  releaseBundle, ReleaseStore, requestEvents, tapEvent, type RawRequest, type Release, type Ranking,
} from "../src/index.js";

interface Plan {
  keys: string[];  // PEM public keys the app trusts
  client_version: string;
  installs: string[];  // release archives, installed in this order
  shadow: string | null;  // a release scored in shadow mode, never shown
  model_file: string;  // the bundle file the app scores with
  epsilon: number;
  log_requests: boolean;  // the raw request in each request event (what `edgeship evaluate` ranks again)
  examination: number[];  // P(a user looks at position k): one per slot
  seed: number;
  visits: string;  // JSON Lines: {request_id, user, timestamp, request, p: click probability per candidate}
  log: string;  // the impression log to write
}

interface Visit { request_id: string; user: string; timestamp: number; request: RawRequest; p: number[] }

/** mulberry32: a seeded source of uniforms in [0, 1), one stream per purpose. */
function uniforms(seed: number, stream: number): () => number {
  let a = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b)) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function rankerOf(release: Release, modelFile: string): Promise<Ranker> {
  const bundle = releaseBundle(release);
  const model = release.files.get(modelFile);
  if (model === undefined) throw new Error(`release ${release.record.version} has no ${modelFile}`);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  return new Ranker(bundle, new OnnxScoringModel(session, ort.Tensor, bundle.features));
}

const POLICY = { "model": "model", "fallback.json": "fallback", "given order": "given" } as const;

async function main(): Promise<number> {
  const plan = JSON.parse(fs.readFileSync(process.argv[2], "utf8")) as Plan;
  const keys = await Promise.all(plan.keys.map((k) => publicKey(fs.readFileSync(k, "utf8"))));
  const store = new ReleaseStore(keys, plan.client_version);
  const installs = [];
  for (const archive of plan.installs) {
    const before = store.installed?.record.version ?? null;
    const result = await store.install(new Uint8Array(fs.readFileSync(archive)));
    installs.push({ archive, result, before, after: store.installed?.record.version ?? null });
  }
  const rankers = new Map<string, Ranker>();  // by release digest: one session per installed release
  const rankerFor = async (release: Release): Promise<Ranker> => {
    let r = rankers.get(release.releaseSha256);
    if (r === undefined) rankers.set(release.releaseSha256, r = await rankerOf(release, plan.model_file));
    return r;
  };
  const shadowRelease = plan.shadow === null ? null
    : await openRelease(new Uint8Array(fs.readFileSync(plan.shadow)), keys);
  const shadow = shadowRelease === null ? null : await rankerOf(shadowRelease, plan.model_file);

  const explore = uniforms(plan.seed, 1), tap = uniforms(plan.seed, 2);
  const slots = plan.examination.length;
  const tmp = `${plan.log}.tmp`;
  const out = fs.openSync(tmp, "w");
  const logger = new ImpressionLogger((lines) => { fs.writeSync(out, lines); }, 1000);
  const counts: Record<string, number> = {};
  let requests = 0, taps = 0, rankMs = 0;
  const lines = readline.createInterface({ input: fs.createReadStream(plan.visits), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const visit = JSON.parse(line) as Visit;
    const release = await store.forUser(visit.user);
    if (release === null) throw new Error(`no release for user ${visit.user}: every plan installs one for all`);
    const current = await rankerFor(release);
    const t0 = performance.now();
    let shown: Ranking, shadowed: Ranking | null = null;
    if (shadow === null) {
      shown = await current.rank(visit.request);
    } else {
      ({ shown, shadow: shadowed } = await rankWithShadow(current, shadow, visit.request));
    }
    const latencyMs = performance.now() - t0;
    rankMs += latencyMs;
    // the ranked list is explored: position k of the greedy slate is ranking.items[k]
    const slate = exploreWith(shown.items.map((_, i) => i), slots, plan.epsilon, explore);
    const version = release.record.version;
    const events = requestEvents({
      requestId: visit.request_id, user: visit.user, arm: version, policy: POLICY[shown.by],
      bucket: await bucket(visit.user, store.installed!.record.salt),
      timestamp: visit.timestamp, modelVersion: shown.by === "model" ? version : null, epsilon: plan.epsilon,
      latencyMs: Math.round(latencyMs * 1000) / 1000, error: shown.reason,
      request: plan.log_requests ? visit.request as unknown as Record<string, unknown> : undefined,
      shadow: shadowed === null ? undefined
        : { modelVersion: shadowRelease!.record.version, items: shadowed.items },
    }, shown.items, slate);
    slate.shown.forEach((i, k) => {
      const candidate = visit.request.items.indexOf(shown.items[i]);
      if (tap() < visit.p[candidate] * plan.examination[k]) {
        events.push(tapEvent(visit.request_id, shown.items[i], visit.timestamp + 1 + k));
        taps++;
      }
    });
    await logger.log(events);
    const arm = `${version} ${POLICY[shown.by]}`;
    counts[arm] = (counts[arm] ?? 0) + 1;
    requests++;
  }
  if (!(await logger.flush()) || logger.dropped > 0) throw new Error(`the log lost ${logger.dropped} lines`);
  fs.closeSync(out);
  fs.renameSync(tmp, plan.log);
  console.log(JSON.stringify({ installs, requests, taps, counts, mean_rank_ms: rankMs / Math.max(requests, 1),
                               installed: store.installed?.record.version ?? null,
                               previous: store.previous?.record.version ?? null }));
  return 0;
}

main().then((code) => process.exit(code), (e) => {
  console.error(`app_simulator: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
