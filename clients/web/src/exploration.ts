// Exploration with exact propensities (docs/releases.md): with probability epsilon the slate is the first
// `slots` of a uniformly random order of the n candidates, else the first `slots` of the ranking; the candidate a
// shown at position k is logged with P(a at k) = (1 - epsilon) * [a is the ranking's k-th] + epsilon / n.
// `draws` are n uniforms in [0, 1): the first decides (draws[0] < epsilon explores), the rest shuffle by
// Fisher-Yates (i = n-1 .. 1: j = min(floor(u * (i + 1)), i), swap i and j).

export interface Slate {
  /** candidate indices, position 0 first */
  shown: number[];
  /** P(shown[k] at k) under the policy: the propensity to log */
  propensities: number[];
  explored: boolean;
}

export function explore(order: readonly number[], slots: number, epsilon: number, draws: readonly number[]): Slate {
  const n = order.length;
  if (!(epsilon >= 0 && epsilon <= 1)) throw new RangeError(`epsilon ${epsilon}: expected a probability in [0, 1]`);
  if ([...order].sort((a, b) => a - b).some((x, i) => x !== i)) {
    throw new RangeError("order: expected every candidate index once");
  }
  if (draws.length < Math.max(n, 1) || draws.some((u) => !(u >= 0 && u < 1))) {
    throw new RangeError(`draws: expected ${Math.max(n, 1)} uniforms in [0, 1)`);
  }
  const explored = draws[0] < epsilon;
  const chosen = [...order];
  if (explored) {
    for (let i = n - 1, step = 1; i >= 1; i--, step++) {
      const j = Math.min(Math.floor(draws[step] * (i + 1)), i);
      [chosen[i], chosen[j]] = [chosen[j], chosen[i]];
    }
  }
  const shown = chosen.slice(0, Math.min(slots, n));
  return { shown, propensities: shown.map((a, k) => (1 - epsilon) * (a === order[k] ? 1 : 0) + epsilon / n), explored };
}

/** The same with the platform's generator (Math.random, or any source of uniforms in [0, 1)). */
export function exploreWith(order: readonly number[], slots: number, epsilon: number,
  random: () => number = Math.random): Slate {
  return explore(order, slots, epsilon, Array.from({ length: Math.max(order.length, 1) }, random));
}
