// state-buffer: a guest whose state is one 32 KiB zero-filled buffer (a ring
// of u32 counters), for the migration benchmark (bench/suites/migration.ts).
// Each request stores the request count in the next word and answers it.

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
  return 4;
}
