/**
 * Custom sections on whole modules: append one, or strip every section of a
 * name and keep its payload (packages carry their static data this way).
 */
import { HotpatchError } from "../errors.ts";
import { forEachSection, Reader, readHeader, utf8Encoder } from "./wasm-reader.ts";

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) b |= 0x80;
    out.push(b);
  } while (value !== 0);
  return out;
}

/** A new module: `bytes` followed by a custom section (id 0) called `name` holding `payload`. */
export function appendCustomSection(bytes: Uint8Array, name: string, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  readHeader(new Reader(bytes, {}));
  const nameBytes = utf8Encoder.encode(name);
  const nameLength = leb(nameBytes.length);
  const bodySize = nameLength.length + nameBytes.length + payload.length;
  if (bodySize > 0xffffffff) throw new HotpatchError("E_FORMAT", `custom section "${name}" is too large`);
  const head = [0, ...leb(bodySize), ...nameLength];
  const out = new Uint8Array(bytes.length + head.length + nameBytes.length + payload.length);
  out.set(bytes, 0);
  out.set(head, bytes.length);
  out.set(nameBytes, bytes.length + head.length);
  out.set(payload, bytes.length + head.length + nameBytes.length);
  return out;
}

/**
 * Removes every custom section called `name`. Returns a new module (always a
 * copy) and a copy of the payload of the last such section, or undefined when
 * there was none. Other sections keep their bytes and order.
 */
export function stripCustomSection(
  bytes: Uint8Array,
  name: string,
): { module: Uint8Array<ArrayBuffer>; payload: Uint8Array<ArrayBuffer> | undefined } {
  const r = new Reader(bytes, {});
  const keep: Array<[number, number]> = [];
  let payload: Uint8Array<ArrayBuffer> | undefined;
  let keptFrom = 0;
  forEachSection(r, (section) => {
    if (section.id !== 0) return;
    r.end = section.bodyEnd;
    if (r.name("custom section name") !== name) return;
    payload = bytes.slice(r.pos, section.bodyEnd);
    keep.push([keptFrom, section.start]);
    keptFrom = section.bodyEnd;
  });
  keep.push([keptFrom, bytes.length]);
  const out = new Uint8Array(keep.reduce((n, [from, to]) => n + to - from, 0));
  let at = 0;
  for (const [from, to] of keep) {
    out.set(bytes.subarray(from, to), at);
    at += to - from;
  }
  return { module: out, payload };
}
