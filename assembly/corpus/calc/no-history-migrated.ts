// calc corpus target: assembly/corpus/calc/no-history.ts with a state migration (diff the two files).
//
// A hotpatch with a migration: no-history.ts (the result history is
// dropped; HISTORY becomes an unknown request) plus a migration that says
// the old buffer may go: it keeps its place, unused.

const INPUT_CAPACITY: i32 = 512;
const OUTPUT_CAPACITY: i32 = 256;
const STACK_CAPACITY: i32 = 32;
const REGISTER_COUNT: i32 = 16;
const HISTORY_CAPACITY: u32 = 24;
export const maxSteps: i32 = 256;

// Static buffers: the request and response, the operand stack, the registers
// and the result history. Registers and history hold live state.
export const input: usize = memory.data(INPUT_CAPACITY);
export const output: usize = memory.data(OUTPUT_CAPACITY);
const STACK: usize = memory.data(STACK_CAPACITY * 4);
const REGISTERS: usize = memory.data(REGISTER_COUNT * 4);

const OP_HALT: u8 = 0x00;
const OP_PUSH: u8 = 0x01;
const OP_ADD: u8 = 0x02;
const OP_SUB: u8 = 0x03;
const OP_MUL: u8 = 0x04;
const OP_DIV: u8 = 0x05;
const OP_MOD: u8 = 0x06;
const OP_DUP: u8 = 0x07;
const OP_SWAP: u8 = 0x08;
const OP_DROP: u8 = 0x09;
const OP_JZ: u8 = 0x0a;
const OP_JMP: u8 = 0x0b;
const OP_LOAD: u8 = 0x0c;
const OP_STORE: u8 = 0x0d;
const OP_NATIVE: u8 = 0x0e;

const STATUS_OK: u8 = 0;
const STATUS_UNDERFLOW: u8 = 1;
const STATUS_OVERFLOW: u8 = 2;
const STATUS_DIV_ZERO: u8 = 3;
const STATUS_BUDGET: u8 = 4;
const STATUS_BAD_INSTRUCTION: u8 = 5;
const STATUS_MALFORMED: u8 = 6;
const STATUS_UNKNOWN_REQUEST: u8 = 7;

const MESSAGES: StaticArray<string> = [
  "ok",
  "stack underflow",
  "stack overflow",
  "division by zero",
  "step budget exhausted",
  "bad instruction",
  "malformed request",
  "unknown request",
];

// CRC-32 (IEEE 802.3, reflected polynomial 0xedb88320), four bits at a time.
const CRC_TABLE: StaticArray<u32> = [
  0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
  0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
];

// Counters live in globals.
let programs: u32 = 0;
let steps: u32 = 0;
let errors: u32 = 0;
let results: u32 = 0;
let lastStatus: u8 = STATUS_OK;
let sp: i32 = 0;

// Register 15 starts as 1000, the scale of fixed-point programs.
store<i32>(REGISTERS + 15 * 4, 1000);

function fail(status: u8): i32 {
  errors++;
  lastStatus = status;
  store<u8>(output, status);
  return 1;
}

function ok(): void {
  lastStatus = STATUS_OK;
  store<u8>(output, STATUS_OK);
}

function push(value: i32): bool {
  if (sp >= STACK_CAPACITY) return false;
  store<i32>(STACK + (<usize>sp << 2), value);
  sp++;
  return true;
}

function pop(): i32 {
  sp--;
  return load<i32>(STACK + (<usize>sp << 2));
}

function validRegister(r: i32): bool {
  return r <= REGISTER_COUNT;
}

/** Why `a op b` cannot be computed, or STATUS_OK. */
function checkArith(op: u8, b: i32): u8 {
  if (op == OP_DIV && b == 0) return STATUS_DIV_ZERO;
  return STATUS_OK;
}

function arith(op: u8, a: i32, b: i32): i32 {
  if (op == OP_ADD) return a + b;
  if (op == OP_SUB) return a - b;
  if (op == OP_MUL) return a * b;
  if (op == OP_DIV) return a / b;
  return a % b;
}

/** FNV-1a over the stack's values, bottom first. */
function checksum(): i32 {
  let hash: u32 = 2166136261;
  for (let i = 0; i < sp; i++) {
    hash = (hash ^ <u32>load<i32>(STACK + (<usize>i << 2))) * 16777619;
  }
  return <i32>hash;
}

function powI(base: i32, exponent: i32): i32 {
  let result: i32 = 1;
  for (let i = 0; i < exponent; i++) result *= base;
  return result;
}

function callNative(n: u8): u8 {
  if (n == 0) {
    const hash = checksum();
    sp = 0;
    push(hash);
    return STATUS_OK;
  }
  if (n == 1) {
    if (sp < 1) return STATUS_UNDERFLOW;
    const a = pop();
    push(a < 0 ? -a : a);
    return STATUS_OK;
  }
  if (n <= 4) {
    if (sp < 2) return STATUS_UNDERFLOW;
    const b = pop();
    const a = pop();
    push(n == 2 ? min(a, b) : n == 3 ? max(a, b) : powI(a, b));
    return STATUS_OK;
  }
  return STATUS_BAD_INSTRUCTION;
}

/** Runs the program in [start, end); returns its status. */
function execute(start: usize, end: usize): u8 {
  sp = 0;
  let pc = start;
  let budget = maxSteps;
  while (pc < end) {
    if (budget == 0) return STATUS_BUDGET;
    budget--;
    steps++;
    const op = load<u8>(pc);
    pc++;
    if (op == OP_HALT) break;
    if (op == OP_PUSH) {
      if (pc + 4 > end) return STATUS_MALFORMED;
      if (!push(load<i32>(pc))) return STATUS_OVERFLOW;
      pc += 4;
    } else if (op >= OP_ADD && op <= OP_MOD) {
      if (sp < 2) return STATUS_UNDERFLOW;
      const b = pop();
      const a = pop();
      const fault = checkArith(op, b);
      if (fault != STATUS_OK) return fault;
      push(arith(op, a, b));
    } else if (op == OP_DUP) {
      if (sp < 1) return STATUS_UNDERFLOW;
      const a = pop();
      push(a);
      if (!push(a)) return STATUS_OVERFLOW;
    } else if (op == OP_SWAP) {
      if (sp < 2) return STATUS_UNDERFLOW;
      const b = pop();
      const a = pop();
      push(b);
      push(a);
    } else if (op == OP_DROP) {
      if (sp < 1) return STATUS_UNDERFLOW;
      pop();
    } else if (op == OP_JZ || op == OP_JMP) {
      if (pc >= end) return STATUS_MALFORMED;
      const target = start + <usize>load<u8>(pc);
      pc++;
      if (target >= end) return STATUS_MALFORMED;
      if (op == OP_JMP) {
        pc = target;
      } else {
        if (sp < 1) return STATUS_UNDERFLOW;
        if (pop() == 0) pc = target;
      }
    } else if (op == OP_LOAD || op == OP_STORE) {
      if (pc >= end) return STATUS_MALFORMED;
      const r = <i32>load<u8>(pc);
      pc++;
      if (!validRegister(r)) return STATUS_MALFORMED;
      const at = REGISTERS + (<usize>r << 2);
      if (op == OP_LOAD) {
        if (!push(load<i32>(at))) return STATUS_OVERFLOW;
      } else {
        if (sp < 1) return STATUS_UNDERFLOW;
        store<i32>(at, pop());
      }
    } else if (op == OP_NATIVE) {
      if (pc >= end) return STATUS_MALFORMED;
      const n = load<u8>(pc);
      pc++;
      const status = callNative(n);
      if (status != STATUS_OK) return status;
    } else {
      return STATUS_BAD_INSTRUCTION;
    }
  }
  return STATUS_OK;
}

function handleRun(len: i32): i32 {
  programs++;
  const status = execute(input + 1, input + <usize>len);
  if (status != STATUS_OK) return fail(status);
  const top = sp > 0 ? load<i32>(STACK + (<usize>(sp - 1) << 2)) : 0;
  results++;
  ok();
  store<u8>(output + 1, <u8>sp);
  store<i32>(output + 2, top);
  return 6;
}

function handleStats(): i32 {
  ok();
  store<u32>(output + 1, programs);
  store<u32>(output + 5, steps);
  store<u32>(output + 9, errors);
  store<u32>(output + 13, results);
  store<u8>(output + 17, lastStatus);
  return 18;
}

function handleRegister(len: i32): i32 {
  if (len < 2) return fail(STATUS_MALFORMED);
  const r = <i32>load<u8>(input + 1);
  if (r >= REGISTER_COUNT) return fail(STATUS_MALFORMED);
  ok();
  store<i32>(output + 1, load<i32>(REGISTERS + (<usize>r << 2)));
  return 5;
}

function handleMessage(): i32 {
  const message = MESSAGES[<i32>lastStatus];
  store<u8>(output, STATUS_OK);
  for (let i = 0; i < message.length; i++) {
    store<u8>(output + 1 + <usize>i, <u8>message.charCodeAt(i));
  }
  return 1 + message.length;
}

function crc32(at: usize, len: i32): u32 {
  let crc: u32 = 0xffffffff;
  for (let i = 0; i < len; i++) {
    crc ^= <u32>load<u8>(at + <usize>i);
    crc = (crc >>> 4) ^ CRC_TABLE[<i32>(crc & 15)];
    crc = (crc >>> 4) ^ CRC_TABLE[<i32>(crc & 15)];
  }
  return ~crc;
}

function handleCrc(len: i32): i32 {
  const crc = crc32(input + 1, len - 1);
  ok();
  store<u32>(output + 1, crc);
  return 5;
}

/** Serves the request of `len` bytes in `input`; returns the response length in `output`. */
export function handle(len: i32): i32 {
  if (len < 1 || len > INPUT_CAPACITY) return fail(STATUS_MALFORMED);
  const op = load<u8>(input);
  if (op == 1) return handleRun(len);
  if (op == 2) return handleStats();
  if (op == 3) return handleRegister(len);
  if (op == 5) return handleMessage();
  if (op == 6) return handleCrc(len);
  return fail(STATUS_UNKNOWN_REQUEST);
}

// Runs once, at the switch: nothing to carry over.
export function __hotpatch_migrate(): void {}
