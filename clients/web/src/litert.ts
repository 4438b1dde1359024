import type { Encoded, Features } from "./contract.js";
import type { ScoringModel } from "./scoring.js";

/** The parts of LiteRT.js (@litertjs/core) this package uses, so that the package itself does not depend on it. */
export interface LiteRtTensor {
  toTypedArray(): ArrayLike<number>;
  delete(): void;
}
export interface LiteRtTensorConstructor {
  new (data: Int32Array | Float32Array, shape?: number[]): LiteRtTensor;
}
export interface LiteRtCompiledModel {
  run(input: Record<string, LiteRtTensor>): Promise<Record<string, LiteRtTensor>>;
}

/** A .tflite file compiled by LiteRT.js (`loadAndCompile(url, {accelerator: "wasm"})`): inputs by name, with the
 *  shapes features.json declares. LiteRT.js manages tensor memory by hand: every tensor is deleted after use. */
export class LiteRtScoringModel implements ScoringModel {
  constructor(readonly model: LiteRtCompiledModel, readonly Tensor: LiteRtTensorConstructor,
              readonly features: Features) {}

  async score(inputs: Encoded): Promise<Float32Array> {
    const feeds: Record<string, LiteRtTensor> = {};
    for (const input of this.features.inputs) {
      feeds[input.name] = new this.Tensor(inputs[input.name as keyof Encoded], input.shape);
    }
    try {
      const out = await this.model.run(feeds);
      try {
        return Float32Array.from(out[this.features.output.name].toTypedArray());
      } finally {
        Object.values(out).forEach((t) => t.delete());
      }
    } finally {
      Object.values(feeds).forEach((t) => t.delete());
    }
  }
}
