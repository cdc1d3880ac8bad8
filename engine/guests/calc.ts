/**
 * Host-side codec for the calc guest (assembly/calc/): assembles programs,
 * builds request bytes and decodes responses, plus a seeded random request
 * stream for differential tests and load generators.
 */
import { fileURLToPath } from "node:url";
import { seededRandom } from "./kvstore.ts";

export const CALC_DIR = fileURLToPath(new URL("../../assembly/calc/", import.meta.url));
export const calcVersion = (version: string) => `${CALC_DIR}${version}.ts`;

export const Request = { RUN: 1, STATS: 2, REG: 3, HISTORY: 4, MESSAGE: 5, CRC: 6 } as const;
export const Instr = {
  HALT: 0x00,
  PUSH: 0x01,
  ADD: 0x02,
  SUB: 0x03,
  MUL: 0x04,
  DIV: 0x05,
  MOD: 0x06,
  DUP: 0x07,
  SWAP: 0x08,
  DROP: 0x09,
  JZ: 0x0a,
  JMP: 0x0b,
  LOAD: 0x0c,
  STORE: 0x0d,
  NATIVE: 0x0e,
} as const;
export const Native = { CHECKSUM: 0, ABS: 1, MIN: 2, MAX: 3, POW: 4 } as const;
export const CalcStatus = {
  OK: 0,
  UNDERFLOW: 1,
  OVERFLOW: 2,
  DIV_ZERO: 3,
  BUDGET: 4,
  BAD_INSTRUCTION: 5,
  MALFORMED: 6,
  UNKNOWN_REQUEST: 7,
} as const;
export const REGISTER_COUNT = 16;

/** One instruction: an opcode and its immediate bytes. */
export type Instruction = number[];

export const push = (value: number): Instruction => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setInt32(0, value | 0, true);
  return [Instr.PUSH, ...bytes];
};
export const op = (code: number, ...immediate: number[]): Instruction => [code, ...immediate];

export function assemble(instructions: Instruction[]): Uint8Array {
  return Uint8Array.from(instructions.flat());
}

export function runRequest(program: Uint8Array | Instruction[]): Uint8Array {
  const bytes = program instanceof Uint8Array ? program : assemble(program);
  return Uint8Array.from([Request.RUN, ...bytes]);
}
export const statsRequest = () => Uint8Array.from([Request.STATS]);
export const registerRequest = (r: number) => Uint8Array.from([Request.REG, r]);
export const historyRequest = () => Uint8Array.from([Request.HISTORY]);
export const messageRequest = () => Uint8Array.from([Request.MESSAGE]);
export const crcRequest = (bytes: Uint8Array) => Uint8Array.from([Request.CRC, ...bytes]);

const view = (r: Uint8Array) => new DataView(r.buffer, r.byteOffset, r.byteLength);

export interface CalcStats {
  programs: number;
  steps: number;
  errors: number;
  results: number;
  lastStatus: number;
}
export function decodeStats(response: Uint8Array): CalcStats {
  const v = view(response);
  return { programs: v.getUint32(1, true), steps: v.getUint32(5, true), errors: v.getUint32(9, true), results: v.getUint32(13, true), lastStatus: response[17] };
}

export const decodeCrc = (response: Uint8Array) => view(response).getUint32(1, true);
export const decodeMessage = (response: Uint8Array) => Buffer.from(response.subarray(1)).toString("latin1");

/** Reflected CRC with the given polynomial (0xedb88320: CRC-32, 0x82f63b78: CRC-32C), an independent model of the guest's. */
export function crc(bytes: Uint8Array, polynomial = 0xedb88320): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ polynomial : c >>> 1;
  }
  return ~c >>> 0;
}

export interface CalcStreamOptions {
  /**
   * Only requests whose answers every calc version in the corpus agrees on:
   * RUN programs without DIV, MOD, pow, natives above 3 or out-of-range
   * registers, plus STATS, REG, HISTORY and MESSAGE. Used to give two
   * versions the same prior state.
   */
  setup?: boolean;
  /**
   * Only requests whose answers do not depend on the prior state: RUN
   * programs without LOAD and STORE, MESSAGE (of the previous request in the
   * stream), CRC and unknown requests. A fresh process of a version answers
   * them as any process running that version does.
   */
  stateless?: boolean;
}

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

/**
 * A seeded stream of calc requests: mostly random programs (arithmetic with
 * edge values, stack shuffling, loops and jumps, registers, natives, bad
 * opcodes, truncated immediates), and the other requests, some malformed.
 * pow's exponent is always pushed right before it (and jumps only land on
 * the start of such units), so v1's exponent loop stays short.
 */
export function randomCalcRequests(seed: number, count: number, options: CalcStreamOptions = {}): Uint8Array[] {
  const random = seededRandom(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const setup = options.setup ?? false;
  const stateless = options.stateless ?? false;
  const value = () => {
    const roll = pick(100);
    if (roll < 45) return pick(16) - 3;
    if (roll < 55) return 0;
    if (roll < 62) return -1;
    if (roll < 67) return INT_MIN;
    if (roll < 70) return INT_MAX;
    return (random() * 2 ** 32) | 0;
  };
  const register = () => (setup ? pick(REGISTER_COUNT) : pick(100) < 90 ? pick(REGISTER_COUNT) : REGISTER_COUNT + pick(3));
  const unit = (): Instruction[] => {
    const roll = pick(100);
    if (roll < 30) return [push(value())];
    if (roll < 48) return [op(setup ? [Instr.ADD, Instr.SUB, Instr.MUL][pick(3)] : Instr.ADD + pick(5))];
    if (roll < 56) return [op(Instr.DUP + pick(3))];
    if (roll < 66) return stateless ? [op(Instr.DUP)] : [op(pick(2) ? Instr.LOAD : Instr.STORE, register())];
    if (roll < 74) return [op(Instr.NATIVE, pick(4))];
    if (roll < 80 && !setup) return [push(pick(100) < 75 ? pick(40) - 4 : 60 + pick(30)), op(Instr.NATIVE, Native.POW)];
    if (roll < 83 && !setup) return [op(Instr.NATIVE, 5 + pick(5))]; // gcd in corpus/calc/gcd-native.ts, unknown elsewhere
    if (roll < 86 && !setup) return [op(0x0f + pick(20))];
    if (roll < 90 && !setup) return [push(pick(3) ? INT_MIN : value()), push(pick(3) ? -1 : 0), op(pick(2) ? Instr.DIV : Instr.MOD)];
    return [push(value())];
  };
  const program = (): Uint8Array => {
    const pushes = Array.from({ length: 1 + pick(3) }, () => [push(value())]);
    const units = [...pushes, ...Array.from({ length: pick(10) }, unit)];
    // Jumps (forward and backward, to the start of a unit; sometimes out of the program).
    const jumps = pick(3);
    for (let j = 0; j < jumps; j++) units.splice(pick(units.length + 1), 0, [op(pick(3) ? Instr.JZ : Instr.JMP, 0)]);
    if (!setup && pick(20) === 0) units.push([op(Instr.HALT)]);
    const starts: number[] = [];
    let at = 0;
    for (const u of units) {
      starts.push(at);
      at += u.reduce((n, i) => n + i.length, 0);
    }
    for (const u of units) {
      const jump = u[0];
      if (jump.length === 2 && (jump[0] === Instr.JZ || jump[0] === Instr.JMP)) jump[1] = pick(12) === 0 ? 200 + pick(50) : starts[pick(starts.length)];
    }
    const bytes = assemble(units.flat());
    // Now and then a truncated last immediate.
    return !setup && pick(25) === 0 && bytes.length > 1 ? bytes.subarray(0, bytes.length - 1 - pick(Math.min(3, bytes.length - 1))) : bytes;
  };
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const roll = pick(100);
    if (roll < 62 || (stateless && roll < 81)) out.push(runRequest(program()));
    else if (roll < 68) out.push(statsRequest());
    else if (roll < 75) out.push(Uint8Array.from(pick(10) === 0 ? [Request.REG] : [Request.REG, register()]));
    else if (roll < 81) out.push(historyRequest());
    else if (roll < 88) out.push(messageRequest());
    else if (setup) out.push(runRequest(program()));
    else if (roll < 96) out.push(crcRequest(Uint8Array.from({ length: pick(40) }, () => pick(256))));
    else if (roll < 99) out.push(Uint8Array.from([7 + pick(20)]));
    else out.push(new Uint8Array(0));
  }
  return out;
}
