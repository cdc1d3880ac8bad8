/**
 * Hand-assembled WebAssembly modules for micro-benchmarks (bench code does
 * not use binaryen: only engine/wasm/ does).
 *
 * - `callModule`: the same tiny function called in a loop directly and
 *   through a table (`call_indirect`), to price one indirection.
 * - `cacheCheckModule`: many small functions, with a constant in the first one
 *   chosen by the caller, to show that V8 caches compiled modules by bytes and
 *   that an appended custom section defeats the cache as a code change does.
 * - `oneFunctionModule`: the smallest module that does what a one-function
 *   patch does — one exported function — to measure what V8 itself charges
 *   to compile, instantiate and first call new bytes (the floor under any
 *   stage + enable).
 */
const I32 = 0x7f;
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

function leb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** A signed LEB128 i32 constant in exactly five bytes, so variants have the same size. */
function sleb5(value: number): number[] {
  return [(value & 0x7f) | 0x80, ((value >> 7) & 0x7f) | 0x80, ((value >> 14) & 0x7f) | 0x80, ((value >> 21) & 0x7f) | 0x80, (value >> 28) & 0x0f];
}

const vec = (items: number[][]) => [...leb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const str = (s: string) => {
  const bytes = [...new TextEncoder().encode(s)];
  return [...leb(bytes.length), ...bytes];
};
const body = (locals: number[][], code: number[]) => {
  const content = [...vec(locals), ...code, 0x0b];
  return [...leb(content.length), ...content];
};

/** Exports `direct(n)` and `indirect(n)`: n calls of `(x) => x * 3 + 1`, directly or through table slot 0. */
export function callModule(): Uint8Array<ArrayBuffer> {
  const loop = (call: number[]) => [
    0x02, 0x40, 0x03, 0x40, // block, loop
    0x20, 0, 0x45, 0x0d, 1, // if n == 0 break
    0x20, 1, ...call, 0x21, 1, // acc = f(acc)
    0x20, 0, 0x41, 1, 0x6b, 0x21, 0, // n--
    0x0c, 0, 0x0b, 0x0b, // continue; end loop; end block
    0x20, 1,
  ];
  return new Uint8Array([
    ...HEADER,
    ...section(1, vec([[0x60, ...vec([[I32]]), ...vec([[I32]])]])),
    ...section(3, vec([[0], [0], [0]])),
    ...section(4, vec([[0x70, 0x00, 1]])),
    ...section(7, vec([[...str("direct"), 0x00, 1], [...str("indirect"), 0x00, 2]])),
    ...section(9, vec([[0x00, 0x41, 0x00, 0x0b, ...vec([[0]])]])),
    ...section(
      10,
      vec([
        body([], [0x20, 0, 0x41, 3, 0x6c, 0x41, 1, 0x6a]),
        body([[1, I32]], loop([0x10, 0])),
        body([[1, I32]], loop([0x41, 0, 0x11, 0, 0])),
      ]),
    ),
  ]);
}

/** `count` functions of a few dozen instructions each; `constant` goes into the first one. */
export function cacheCheckModule(count: number, constant: number): Uint8Array<ArrayBuffer> {
  const fn = (c: number) => {
    const code: number[] = [0x20, 0];
    for (let i = 0; i < 12; i++) code.push(0x41, ...sleb5(c + i), 0x6a, 0x41, 5, 0x6c);
    return body([], code);
  };
  return new Uint8Array([
    ...HEADER,
    ...section(1, vec([[0x60, ...vec([[I32]]), ...vec([[I32]])]])),
    ...section(3, vec(Array.from({ length: count }, () => [0]))),
    ...section(7, vec([[...str("f0"), 0x00, 0]])),
    ...section(10, vec(Array.from({ length: count }, (_, i) => fn(i === 0 ? constant : i)))),
  ]);
}

/** One exported function `f(x) = x * 3 + constant`, nothing else; every constant (0 ≤ constant < 2³¹) gives other bytes of the same size. */
export function oneFunctionModule(constant: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array([
    ...HEADER,
    ...section(1, vec([[0x60, ...vec([[I32]]), ...vec([[I32]])]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...str("f"), 0x00, 0]])),
    ...section(10, vec([body([], [0x20, 0, 0x41, 3, 0x6c, 0x41, ...sleb5(constant), 0x6a])])),
  ]);
}
