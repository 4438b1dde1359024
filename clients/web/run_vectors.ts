// Replays a bundle's testvectors_raw.json through the bundle's generated integration/web/edgeship_ranker.ts
// under Node with onnxruntime-node, as an app's unit test would: raw request -> encoding (compared exactly with
// the expected tensors) -> each .onnx / .ort file -> scores and ranked ids; then the fallback, with a model that
// cannot be loaded and a request the encoder refuses. Writes what it found as JSON; tests/clients/test_web.py
// judges it.
// Usage: node out/run_vectors.js BUNDLE REPORT.json
import * as fs from "fs";
import * as path from "path";
import * as ort from "onnxruntime-node";
import { CONTRACT, Encoded, Encoder, Ranker, RawRequest } from "./edgeship_ranker";

interface Case {
  request: RawRequest;
  tensors: Record<string, unknown>;
  expected: Record<string, unknown>;
  ranked: Record<string, string[]>;
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
  const files: Record<string, { max_abs_error: number; ranked_equal: number; ranked_differ: string[] }> = {};
  for (const file of Object.keys(vectors.atol).filter((f) => f.endsWith(".onnx") || f.endsWith(".ort"))) {
    const ranker = await Ranker.create(vocabularies, () => ort.InferenceSession.create(path.join(bundle, file)));
    const result = { max_abs_error: 0, ranked_equal: 0, ranked_differ: [] as string[] };
    for (const [i, c] of cases.entries()) {
      const ranking = await ranker.rank(c.request);
      if (ranking.scores === null) throw new Error(`${file}: fell back on case ${i}: ${ranking.fallback}`);
      const want = flat(c.expected[file]);
      ranking.scores.forEach((s, j) => (result.max_abs_error = Math.max(result.max_abs_error, Math.abs(s - want[j]))));
      if (JSON.stringify(ranking.items) === JSON.stringify(c.ranked[file])) result.ranked_equal += 1;
      else result.ranked_differ.push(`case ${i}`);
    }
    files[file] = result;
  }
  const request = cases[0].request;
  const unloadable = await Ranker.create(vocabularies, () => ort.InferenceSession.create(path.join(bundle, "missing.onnx")));
  const noModel = await unloadable.rank(request);
  const anyFile = Object.keys(files)[0];
  const loaded = await Ranker.create(vocabularies, () => ort.InferenceSession.create(path.join(bundle, anyFile)));
  const tooMany = { ...request, items: Array.from({ length: CONTRACT.k + 1 }, (_, i) => request.items[i % request.items.length]) };
  const refused = await loaded.rank(tooMany);
  fs.writeFileSync(out, JSON.stringify({
    cases: cases.length, encoding, files,
    fallback: {
      unloadable: { given_order: JSON.stringify(noModel.items) === JSON.stringify(request.items), reason: noModel.fallback },
      too_many: { given_order: JSON.stringify(refused.items) === JSON.stringify(tooMany.items), reason: refused.fallback },
    },
  }, null, 1));
}

main().catch((e) => {
  console.error(String(e));
  process.exit(1);
});
