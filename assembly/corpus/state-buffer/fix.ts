// state-buffer fix: base.ts with a code-only change (the answer carries the
// request count twice): the plain switch the migration benchmark compares with.
// No state changes, no migration.

export const input: usize = memory.data(64);
export const output: usize = memory.data(64);
const STATE_BYTES: u32 = 32768;
const STATE: usize = memory.data(<i32>STATE_BYTES);
let writes: u32 = 0;

export function handle(len: i32): i32 {
  const at = <usize>((writes * 4) % STATE_BYTES);
  store<u32>(STATE + at, writes);
  writes++;
  store<u32>(output, load<u32>(STATE + at));
  store<u32>(output + 4, writes);
  return 8;
}
