/**
 * Suite — the cost of a shadow variable (assembly/lib/shadow.ts): shadowGet
 * of a present and of an absent shadow, and an alloc + free pair, inside the
 * guest (loops of assembly/lib/shadow-harness.ts, so no host call is timed),
 * at 48, 144 and 192 live shadows of the table's 256 slots (192 is the most
 * it holds). Plain `asc -O3` build, direct calls: in a patch the library's
 * functions are new functions of the code page, called directly inside it.
 */
import { fileURLToPath } from "node:url";
import { plainBuild } from "../lib/plain-build.ts";
import { Recorder, target } from "../lib/stats.ts";
import type { Suite } from "../lib/suite.ts";

const HARNESS = fileURLToPath(new URL("../../assembly/lib/shadow-harness.ts", import.meta.url));
const LOADS = [48, 144, 192] as const;
const FIRST = 0x20000;
const ABSENT = 0x90000;

interface Harness {
  alloc(obj: number, id: number, size: number): number;
  freeAll(id: number): void;
  getLoop(first: number, objects: number, id: number, rounds: number): number;
  allocFreeLoop(first: number, objects: number, id: number, rounds: number): void;
}

/** Nanoseconds per operation of one timed loop. */
function perOp(run: () => unknown, ops: number): number {
  const t0 = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - t0) / ops;
}

export const shadowVariables: Suite = {
  name: "shadow-variables",
  title: "Shadow variables: get (present, absent) and alloc + free, in the guest, by table load",
  async run(context) {
    const samples = context.quick ? 20 : 100;
    const rounds = context.quick ? 200 : 1000;
    const { instance } = await WebAssembly.instantiate(Uint8Array.from(await plainBuild(HARNESS)), {
      env: {
        abort: () => {
          throw new Error("abort");
        },
      },
    });
    const lib = instance.exports as unknown as Harness;
    const distributions = [];
    const figures: Record<string, number> = {};
    let hitAtFull = 0;
    for (const load of LOADS) {
      const hit = new Recorder(`get, present shadow, ${load}/256 live`, "ns");
      const miss = new Recorder(`get, absent shadow, ${load}/256 live`, "ns");
      const pair = new Recorder(`alloc + free, ${load}/256 live`, "ns");
      lib.allocFreeLoop(FIRST, load, 1, rounds); // warm-up
      for (let s = 0; s < samples; s++) pair.addNanos(perOp(() => lib.allocFreeLoop(FIRST, load, 1, rounds), load * rounds));
      for (let i = 0; i < load; i++) lib.alloc(FIRST + 16 * i, 1, 8);
      lib.getLoop(FIRST, load, 1, rounds);
      for (let s = 0; s < samples; s++) {
        hit.addNanos(perOp(() => lib.getLoop(FIRST, load, 1, rounds), load * rounds));
        miss.addNanos(perOp(() => lib.getLoop(ABSENT, load, 1, rounds), load * rounds));
      }
      lib.freeAll(1);
      const [h, m, p] = [hit.summary(), miss.summary(), pair.summary()];
      distributions.push(h, m, p);
      figures[`get present, ${load} live: median ns`] = h.p50;
      figures[`get absent, ${load} live: median ns`] = m.p50;
      figures[`alloc + free, ${load} live: median ns`] = p.p50;
      if (load === 192) hitAtFull = h.p50;
    }
    return {
      distributions,
      figures,
      targets: [target("shadowGet of a present shadow with the table at its limit (192/256): median", 100, hitAtFull, "ns", "<=")],
      notes: [
        "Each sample is one loop inside the guest over every live object, divided by the operations it did; the objects are 16 bytes apart, as heap objects are.",
        "An absent shadow is the slowest get: its probe runs to the next empty slot.",
      ],
    };
  },
};
