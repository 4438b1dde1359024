import type { Encoded, Features } from "./contract.js";

/** A model file behind one call: the four inputs of one request (k candidate slots) -> k scores. */
export interface ScoringModel {
  score(inputs: Encoded): Promise<Float32Array>;
}

/** The parts of an ONNX Runtime JavaScript API this package uses (onnxruntime-node, onnxruntime-web and
 *  onnxruntime-react-native all have them), so that the package itself depends on none of them. */
export interface OrtTensorConstructor {
  new (type: "int32" | "float32", data: Int32Array | Float32Array, dims: readonly number[]): unknown;
}
export interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>>;
}

/** A .onnx or .ort file in an ONNX Runtime session: inputs by name, with the shapes features.json declares. */
export class OnnxScoringModel implements ScoringModel {
  constructor(readonly session: OrtSession, readonly Tensor: OrtTensorConstructor, readonly features: Features) {}

  async score(inputs: Encoded): Promise<Float32Array> {
    const feeds: Record<string, unknown> = {};
    for (const input of this.features.inputs) {
      const data = inputs[input.name as keyof Encoded];
      feeds[input.name] = new this.Tensor(data instanceof Int32Array ? "int32" : "float32", data, input.shape);
    }
    const out = await this.session.run(feeds);
    return Float32Array.from(out[this.features.output.name].data as ArrayLike<number>);
  }
}
