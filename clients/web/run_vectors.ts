// Replays a bundle's testvectors_raw.json through the bundle's generated integration/web/edgeship_ranker.ts
// under Node with onnxruntime-node, as an app's unit test would: raw request -> encoding (compared exactly with
// the expected tensors) -> each .onnx / .ort file -> scores, ranked ids, and the ids after rules.json; then the
// fallback (fallback.json under the rules), with a model that cannot be loaded and a request the encoder refuses.
// Writes what it found as JSON; tests/export/integration/test_web.py judges it.
// Usage: node out/run_vectors.js BUNDLE REPORT.json
import * as fs from "fs";
import * as path from "path";
import * as ort from "onnxruntime-node";
import { applyRules, CONTRACT, Encoded, Encoder, ranked, Ranker, RawRequest } from "./edgeship_ranker";

interface Case {
  request: RawRequest;
  tensors: Record<string, unknown>;
  expected: Record<string, unknown>;
  ranked: Record<string, string[]>;
  with_rules: Record<string, string[]>;
  fallback: string[];
  what: string;
}

function flat(x: unknown): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x as number];
}

async function main(): Promise<void> {
  const [bundle, out] = process.argv.slice(2);
  const read = (name: string) => JSON.parse(fs.readFileSync(path.join(bundle, name), "utf8"));
  const vocabularies = read("vocabularies.json");
  const vectors = read("testvectors_raw.json");
  const rules = read("rules.json").rules;
  const table = fs.existsSync(path.join(bundle, "fallback.json")) ? read("fallback.json") : null;
  const cases: Case[] = vectors.cases;
  const encoder = new Encoder(vocabularies);
  const encoding: string[] = []; // one line per tensor that differs from the expected one
  cases.forEach((c, i) => {
    const encoded = encoder.encode(c.request);
    for (const input of CONTRACT.inputs) {
      const want = flat(c.tensors[input.name]);
      const got = Array.from(encoded[input.name as keyof Encoded]);
      const bad = want.findIndex((w, j) => Math.fround(w) !== got[j]);
      if (bad >= 0 || want.length !== got.length) {
        encoding.push(`case ${i} (${c.what}): ${input.name}[${bad}] = ${got[bad]}, expected ${want[bad]}`);
      }
    }
  });
  const same = (a: string[], b: string[]) => JSON.stringify(a) === JSON.stringify(b);
  // every file's recorded scores, ranked and put through the rules here: the rules engine compared exactly
  const rulesDiffer: string[] = [];
  for (const [i, c] of cases.entries()) {
    for (const file of Object.keys(c.with_rules)) {
      if (!same(applyRules(rules, flat(c.expected[file]), c.request, encoder), c.with_rules[file])) {
        rulesDiffer.push(`case ${i} (${c.what}) ${file}`);
      }
    }
  }
  const files: Record<string, { max_abs_error: number; ranked_equal: number; ranked_differ: string[]; with_rules_equal: number }> = {};
  for (const file of Object.keys(vectors.atol).filter((f) => f.endsWith(".onnx") || f.endsWith(".ort"))) {
    const ranker = await Ranker.create(vocabularies, () => ort.InferenceSession.create(path.join(bundle, file)), rules, table);
    const result = { max_abs_error: 0, ranked_equal: 0, ranked_differ: [] as string[], with_rules_equal: 0 };
    for (const [i, c] of cases.entries()) {
      const ranking = await ranker.rank(c.request);
      if (ranking.scores === null) throw new Error(`${file}: fell back on case ${i}: ${ranking.fallback}`);
      const want = flat(c.expected[file]);
      ranking.scores.forEach((s, j) => (result.max_abs_error = Math.max(result.max_abs_error, Math.abs(s - want[j]))));
      if (same(ranked(ranking.scores, c.request.items), c.ranked[file])) result.ranked_equal += 1;
      else result.ranked_differ.push(`case ${i}`);
      if (same(ranking.items, c.with_rules[file])) result.with_rules_equal += 1;
    }
    files[file] = result;
  }
  const request = cases[0].request;
  const unloadable = await Ranker.create(vocabularies, () => ort.InferenceSession.create(path.join(bundle, "missing.onnx")),
                                         rules, table);
  const noModel = await unloadable.rank(request);
  const fallbackEqual = [];
  for (const c of cases) fallbackEqual.push(same((await unloadable.rank(c.request)).items, c.fallback));
  const bare = await Ranker.create(vocabularies, () => ort.InferenceSession.create(path.join(bundle, "missing.onnx")));
  const anyFile = Object.keys(files)[0];
  const loaded = await Ranker.create(vocabularies, () => ort.InferenceSession.create(path.join(bundle, anyFile)), rules, table);
  const tooMany = { ...request, items: Array.from({ length: CONTRACT.k + 1 }, (_, i) => request.items[i % request.items.length]) };
  const refused = await loaded.rank(tooMany);
  fs.writeFileSync(out, JSON.stringify({
    cases: cases.length, encoding, files, rules_differ: rulesDiffer,
    fallback: {
      unloadable: { by: noModel.by, reason: noModel.fallback, equal: fallbackEqual },
      too_many: { by: refused.by, reason: refused.fallback, items: refused.items.length },
      no_table: { by: (await bare.rank(request)).by, given_order: same((await bare.rank(request)).items, request.items) },
    },
  }, null, 1));
}

main().catch((e) => {
  console.error(String(e));
  process.exit(1);
});
