/**
 * The version corpus (assembly/corpus/, assembly/calc/) and what the
 * differential tests need to drive it: where each pair's files are, what the
 * builder must make of it, and a guest-independent way to run requests and
 * read a process's logical state through the guest's own API.
 */
import { fileURLToPath } from "node:url";
import { historyRequest, messageRequest, REGISTER_COUNT, registerRequest } from "../engine/guests/calc.ts";
import { calcVersion, getRequest, randomCalcRequests, randomRequests, statsRequest as calcStatsRequest, statsRequest as kvStatsRequest } from "../engine/guests/index.ts";
import { isHotpatchError } from "../engine/errors.ts";
import { compileAssemblyScript } from "../engine/image/compile-as.ts";
import { buildImage, type Image } from "../engine/image/index.ts";
import type { GuestProcess } from "../engine/process/index.ts";

export const corpus = (path: string) => fileURLToPath(new URL(`../assembly/corpus/${path}`, import.meta.url));
export const calcCorpus = (name: string) => corpus(`calc/${name}.ts`);
export const CALC_V1 = calcVersion("v1");
export const KV_BASE = corpus("kvstore/base.ts");

export type GuestName = "calc" | "kvstore";

export interface HotpatchPair {
  name: string;
  guest: GuestName;
  base: string;
  target: string;
  /** Keys the patch must replace or add, sorted. */
  functions: string[];
  /** Keys of new functions (spare slots). */
  added: string[];
  /** Whether the patch carries new static data. */
  data: boolean;
}

const VISIT_GLOBALS = "~lib/rt/__visit_globals"; // the GC reads every pointer constant: a folded one replaces it too

export const HOTPATCH_PAIRS: HotpatchPair[] = [
  { name: "calc v1 → v2: bug fix (division traps)", guest: "calc", base: CALC_V1, target: calcVersion("v2"), functions: ["arith", "checkArith"], added: [], data: false },
  {
    name: "calc v1 → v3: cumulative, a mitigation with a new status message, a new helper and a longer message table",
    guest: "calc",
    base: CALC_V1,
    target: calcVersion("v3"),
    functions: [VISIT_GLOBALS, "arith", "callNative", "checkArith", "handleMessage", "safeExponent"],
    added: ["safeExponent"],
    data: true,
  },
  {
    name: "calc v1 → v4: cumulative, pow becomes recursive (the mitigation is gone)",
    guest: "calc",
    base: CALC_V1,
    target: calcVersion("v4"),
    functions: ["arith", "checkArith", "powI"],
    added: [],
    data: false,
  },
  { name: "calc crc32c: a changed constant table", guest: "calc", base: CALC_V1, target: calcCorpus("crc32c"), functions: [VISIT_GLOBALS, "crc32"], added: [], data: true },
  {
    name: "calc register-bounds: a fix in a tiny function the optimiser inlines",
    guest: "calc",
    base: CALC_V1,
    target: calcCorpus("register-bounds"),
    functions: ["validRegister"],
    added: [],
    data: false,
  },
  { name: "calc recursive-pow: a function becoming recursive", guest: "calc", base: CALC_V1, target: calcCorpus("recursive-pow"), functions: ["powI"], added: [], data: false },
  { name: "calc gcd-native: a new helper function", guest: "calc", base: CALC_V1, target: calcCorpus("gcd-native"), functions: ["callNative", "gcd"], added: ["gcd"], data: false },
  {
    name: "calc message-text: a new string literal in a message table",
    guest: "calc",
    base: CALC_V1,
    target: calcCorpus("message-text"),
    functions: [VISIT_GLOBALS, "handleMessage"],
    added: [],
    data: true,
  },
  {
    name: "kvstore version-op: a new request with a new string literal and a new helper",
    guest: "kvstore",
    base: KV_BASE,
    target: corpus("kvstore/version-op.ts"),
    functions: ["handle", "handleVersion"],
    added: ["handleVersion"],
    data: true,
  },
  {
    name: "kvstore new-class: a new class (extended runtime type information, new GC visitors)",
    guest: "kvstore",
    base: KV_BASE,
    target: corpus("kvstore/new-class.ts"),
    functions: [
      "~lib/rt/__typeinfo",
      "~lib/rt/__visit_members",
      "handleEcho",
      "Tally#set:count",
      "Tally#set:label",
      "Tally#get:count",
      "Tally~visit",
      "Tally#constructor",
    ],
    added: ["Tally#set:count", "Tally#set:label", "Tally#get:count", "Tally~visit", "Tally#constructor"],
    data: true,
  },
];

/**
 * A fresh image of a source, without the pointer scan (one compile instead
 * of two): a process of it behaves exactly like one of the full image, it
 * only has no patch arena.
 */
export async function plainImage(path: string): Promise<Image> {
  const { wasm, namePrefix } = await compileAssemblyScript(path);
  return buildImage({ wasm, kind: "assemblyscript", name: path.split("/").at(-1)!, namePrefix });
}

/** A request's answer as text: the response bytes in hex, or the guest's trap. */
export function answer(process: GuestProcess, request: Uint8Array): string {
  try {
    return Buffer.from(process.request(request)).toString("hex");
  } catch (error) {
    if (isHotpatchError(error) && error.code === "E_GUEST_TRAP") return `trap: ${error.message}`;
    throw error;
  }
}

/** Requests that give a process prior state, answered alike by every version of the guest in the corpus. */
export function setupRequests(guest: GuestName, seed: number, count: number): Uint8Array[] {
  if (guest === "calc") return randomCalcRequests(seed, count, { setup: true });
  return randomRequests(seed, count).filter((request) => request[0] !== 6); // 6 is version-op's new request
}

export function streamRequests(guest: GuestName, seed: number, count: number): Uint8Array[] {
  return guest === "calc" ? randomCalcRequests(seed, count) : randomRequests(seed, count);
}

/**
 * The logical state, read through the guest's own requests: calc's last
 * status message, counters, result history and registers; kvstore's counters
 * and every key the random streams use. (Reading it is itself a request
 * sequence, so two processes compared must both be read.)
 */
export function logicalState(guest: GuestName, process: GuestProcess): string[] {
  const requests =
    guest === "calc"
      ? [messageRequest(), calcStatsRequest(), historyRequest(), ...Array.from({ length: REGISTER_COUNT }, (_, r) => registerRequest(r))]
      : [kvStatsRequest(), ...Array.from({ length: 40 }, (_, k) => getRequest(`k${k}`))];
  return requests.map((request) => answer(process, request));
}

export interface Mismatch {
  index: number;
  request: string;
  left: string;
  right: string;
}

/** Serves the stream to both processes; returns the first `limit` requests they answer differently. */
export function compareAnswers(left: GuestProcess, right: GuestProcess, stream: Uint8Array[], limit = 3): Mismatch[] {
  const mismatches: Mismatch[] = [];
  stream.forEach((request, index) => {
    const a = answer(left, request);
    const b = answer(right, request);
    if (a !== b && mismatches.length < limit) mismatches.push({ index, request: Buffer.from(request).toString("hex"), left: a, right: b });
  });
  return mismatches;
}
