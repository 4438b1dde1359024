/** A raw request the contract cannot encode. `code` is one of features.json's `errors`; `field` names what is wrong. */
export class ContractError extends Error {
  constructor(readonly code: string, readonly field: string, detail = "") {
    super(`${code}: ${field}${detail ? ` (${detail})` : ""}`);
    this.name = "ContractError";
  }
}

/** A bundle this package cannot read (another contract version, a missing file). */
export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BundleError";
  }
}
