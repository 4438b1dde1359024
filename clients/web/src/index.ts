// @edgeship/client: a bundle's raw-input contract (features.json), rules.json and fallback.json for apps in
// JavaScript and TypeScript, with any ONNX Runtime JavaScript API scoring the .onnx / .ort file, or LiteRT.js the
// .tflite file.
export { readBundle, type Bundle } from "./bundle.js";
export { canonical, fnv1a32, indexId } from "./canonical.js";
export * from "./contract.js";
export { Encoder, contextByName, timeId } from "./encoder.js";
export { BundleError, ContractError } from "./errors.js";
export { explore, exploreWith, type Slate } from "./exploration.js";
export { ImpressionLogger, requestEvents, tapEvent, type LogEvent, type RequestInfo } from "./impressions.js";
export { fallbackScores } from "./fallback.js";
export {
  LiteRtScoringModel, type LiteRtCompiledModel, type LiteRtTensor, type LiteRtTensorConstructor,
} from "./litert.js";
export { Ranker, rankWithShadow, type Ranking } from "./ranker.js";
export {
  admit, bucket, compareVersions, inRollout, openRelease, publicKey, readTar, releaseBundle, ReleaseError, ReleaseStore,
  sha256Hex,
  type PublicKey, type Release, type ReleaseErrorCode, type ReleaseRecord,
} from "./release.js";
export { applyRules, ranked } from "./rules.js";
export { OnnxScoringModel, type OrtSession, type OrtTensorConstructor, type ScoringModel } from "./scoring.js";
export const VERSION = "0.1.0";
