import { SUPPORTED_CONTRACT_VERSIONS, NO_RULES, type FallbackTable, type Features, type RuleSet,
  type Vocabularies } from "./contract.js";
import { BundleError } from "./errors.js";

/** The data files of a bundle a client reads (the model file is the scoring model's business). */
export interface Bundle {
  features: Features;
  vocabularies: Vocabularies;
  rules: RuleSet;
  fallback: FallbackTable | null;
}

/** A bundle from its files' text: read(name) returns a file's contents, or null when the bundle lacks it
 *  (rules.json and fallback.json are optional). Refuses a contract version this package does not read. */
export function readBundle(read: (name: string) => string | null): Bundle {
  const json = (name: string, required: boolean): unknown => {
    const text = read(name);
    if (text === null) {
      if (required) throw new BundleError(`${name}: missing`);
      return null;
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new BundleError(`${name}: not JSON (${String(e)})`);
    }
  };
  const features = json("features.json", true) as Features;
  if (!SUPPORTED_CONTRACT_VERSIONS.includes(features.schema_version)) {
    throw new BundleError(`features.json: schema_version ${features.schema_version}; this client reads ` +
                          `${SUPPORTED_CONTRACT_VERSIONS.join(", ")}`);
  }
  const rules = json("rules.json", false) as { rules: RuleSet } | null;
  return {
    features,
    vocabularies: json("vocabularies.json", true) as Vocabularies,
    rules: rules?.rules ?? NO_RULES,
    fallback: json("fallback.json", false) as FallbackTable | null,
  };
}
