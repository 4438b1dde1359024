// A bundle's testvectors_raw.json through this package and onnxruntime-node, as an app's unit test would: each
// raw request encoded (compared exactly), each .onnx / .ort file scored (within the bundle's atol), its ranking,
// the ranking after rules.json, and the fallback order. Usage: node build/test/vectors.js BUNDLE [REPORT.json]
import * as fs from "node:fs";
import * as path from "node:path";
import ort from "onnxruntime-node";
import { applyRules, OnnxScoringModel, Ranker, rankWithShadow, readBundle, ranked, type RawRequest }
  from "../src/index.js";

interface Case {
  what: string; request: RawRequest; tensors: Record<string, unknown>; expected: Record<string, unknown>;
  ranked: Record<string, unknown[]>; with_rules: Record<string, unknown[]>; fallback: unknown[];
}

const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x as number]);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

async function main(): Promise<number> {
  const [bundleDir, report] = process.argv.slice(2);
  const file = (name: string) => path.join(bundleDir, name);
  const bundle = readBundle((name) => (fs.existsSync(file(name)) ? fs.readFileSync(file(name), "utf8") : null));
  const vectors = JSON.parse(fs.readFileSync(file("testvectors_raw.json"), "utf8")) as {
    atol: Record<string, number>; cases: Case[] };
  const failures: string[] = [];
  const files: Record<string, { max_abs_error: number; ranked: number; with_rules: number }> = {};
  const base = new Ranker(bundle, null);
  vectors.cases.forEach((c, i) => {
    const got = base.encoder.encode(c.request);
    for (const [name, want] of Object.entries(c.tensors)) {
      const g = Array.from(got[name as keyof typeof got]), w = flat(want);
      const ok = name === "candidate_features" ? g.every((x, j) => Math.abs(x - w[j]) <= 1e-6)
        : g.every((x, j) => x === w[j]);
      if (!ok || g.length !== w.length) failures.push(`cases[${i}].tensors.${name}`);
    }
    if (!same(base.fallback(c.request).items, c.fallback)) failures.push(`cases[${i}].fallback`);
  });
  const rankers = new Map<string, Ranker>();
  for (const name of Object.keys(vectors.atol).filter((n) => n.endsWith(".onnx") || n.endsWith(".ort"))) {
    const session = await ort.InferenceSession.create(file(name));
    const ranker = new Ranker(bundle, new OnnxScoringModel(session, ort.Tensor, bundle.features));
    const r = (files[name] = { max_abs_error: 0, ranked: 0, with_rules: 0 });
    for (const [i, c] of vectors.cases.entries()) {
      const scores = await ranker.score(c.request);
      const want = flat(c.expected[name]).slice(0, scores.length);
      r.max_abs_error = Math.max(r.max_abs_error, ...scores.map((s, j) => Math.abs(s - want[j])));
      if (same(ranked(want, want.length).map((j) => c.request.items[j]), c.ranked[name])) r.ranked++;
      else failures.push(`cases[${i}].ranked[${name}]`);
      const ruled = (await ranker.rank(c.request)).items;
      if (same(applyRules(bundle.rules, want, c.request, ranker.encoder).map((j) => c.request.items[j]),
               c.with_rules[name]) && same(ruled, c.with_rules[name])) r.with_rules++;
      else failures.push(`cases[${i}].with_rules[${name}]`);
    }
    if (r.max_abs_error > vectors.atol[name]) failures.push(`${name}: max |error| ${r.max_abs_error}`);
    rankers.set(name, ranker);
  }
  // shadow mode over two of the bundle's files: the shown ranking is the current file's, the shadow the other's
  const [current, candidate] = [rankers.get("ranker_int8.onnx"), rankers.get("ranker_fp32.onnx")];
  if (current && candidate) {
    for (const [i, c] of vectors.cases.entries()) {
      const { shown, shadow } = await rankWithShadow(current, candidate, c.request);
      if (!same(shown.items, c.with_rules["ranker_int8.onnx"]) || !same(shadow.items, c.with_rules["ranker_fp32.onnx"])
          || shadow.by !== "model") failures.push(`cases[${i}]: shadow mode`);
    }
  }
  const out = { client: "web (Node, onnxruntime-node)", cases: vectors.cases.length, files, failures };
  if (report) fs.writeFileSync(report, JSON.stringify(out, null, 2));
  console.log(JSON.stringify(out, null, 2));
  return failures.length === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => { console.error(e); process.exit(2); });
