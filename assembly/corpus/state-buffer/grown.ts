// state-buffer grown: base.ts with its state buffer grown from 32 KiB to
// 48 KiB (the largest size class that fits the 60 KiB patch arena) and a
// migration that copies the 32 KiB of old state into it.

export const input: usize = memory.data(64);
export const output: usize = memory.data(64);
const STATE_BYTES: u32 = 49152;
const STATE: usize = memory.data(<i32>STATE_BYTES);
let writes: u32 = 0;
// The running process's buffer (the old state).
let __hotpatch_old_STATE: usize = 0;

export function handle(len: i32): i32 {
  const at = <usize>((writes * 4) % STATE_BYTES);
  store<u32>(STATE + at, writes);
  writes++;
  store<u32>(output, load<u32>(STATE + at));
  return 4;
}

// Runs once, at the switch: the old ring goes to the start of the new one.
export function __hotpatch_migrate(): void {
  memory.copy(STATE, __hotpatch_old_STATE, 32768);
}
