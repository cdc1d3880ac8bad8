/**
 * Seeded random mutations for the fuzzing loops of the format tests: copies
 * of a byte string with one to `maxFlips` bytes overwritten at random places.
 * The same seed gives the same copies in the same order (a fixed linear
 * congruential generator, so a failing round can be replayed).
 */
export interface MutationPlan {
  seed: number;
  rounds: number;
  maxFlips: number;
}

export function* mutatedCopies(original: Uint8Array, { seed, rounds, maxFlips }: MutationPlan): Generator<Uint8Array<ArrayBuffer>> {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  for (let round = 0; round < rounds; round++) {
    const bytes = original.slice();
    const flips = 1 + Math.floor(random() * maxFlips);
    for (let i = 0; i < flips; i++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    yield bytes;
  }
}
