/**
 * The migration function of a code page (docs/loader-and-consistency.md#state-migrations):
 * what the builder checks of it and the fuel meter it gets.
 *
 * Contract: a migration is self-contained — its body calls no function (it
 * first runs on a scratch copy of the process, where the process's functions
 * do not exist) — so its only unbounded work is loops. `meterLoops` makes
 * every loop iteration take one unit of an imported fuel counter and trap at
 * zero; the loader sets the counter to the budget before each run.
 * Order: `callsOfSlot` on the target build (builder, before the code page is
 * cut), `meterLoops` on the code page after it was reduced.
 */
import { OLD_STATE_PREFIX } from "../format/index.ts";
import { type BinaryenModule, binaryen, definedFunctions, elementSegments, globals, withModule } from "./binaryen.ts";
import { SLOT_TABLE } from "./instrument.ts";
import { walk } from "./walk.ts";

/**
 * Exports the module's old-state globals (`__hotpatch_old_<key>`) under
 * temporary names while `optimise` runs, so that the optimiser does not fold
 * them into constants (nothing in the target writes them: their value is the
 * running process's), then removes those exports again.
 */
export function withOldStateKept<T>(module: BinaryenModule, keyOf: (name: string) => string, optimise: () => T): T {
  const kept = globals(module).filter((g) => !g.imported && keyOf(g.name).startsWith(OLD_STATE_PREFIX));
  for (let i = 0; i < kept.length; i++) module.addGlobalExport(kept[i].name, `hotpatch:keep:${i}`);
  try {
    return optimise();
  } finally {
    for (let i = 0; i < kept.length; i++) module.removeExport(`hotpatch:keep:${i}`);
  }
}

/**
 * What the body in slot `slot` of a built image calls: direct calls by
 * function name, calls through a constant slot as `slot:<k>`, other indirect
 * calls as "call_indirect", in order of first appearance.
 */
export function callsOfSlot(moduleBytes: Uint8Array, slot: number): string[] {
  return withModule(moduleBytes, (module) => {
    let impl: string | undefined;
    for (const segment of elementSegments(module)) {
      const at = slot - (segment.offset ?? 0);
      if (segment.table === SLOT_TABLE && at >= 0 && at < segment.functions.length) impl = segment.functions[at];
    }
    const fn = definedFunctions(module).find((f) => f.name === impl);
    if (!fn) return [];
    const calls = new Set<string>();
    const target = (binaryen as unknown as { CallIndirect: { getTarget(e: number): number } }).CallIndirect.getTarget;
    walk(fn.body, (expr) => {
      const id = binaryen.getExpressionId(expr);
      if (id === binaryen.CallId) calls.add((binaryen.getExpressionInfo(expr) as binaryen.CallInfo).target);
      else if (id === binaryen.CallIndirectId) {
        const k = target(expr);
        const constant = binaryen.getExpressionId(k) === binaryen.ConstId ? (binaryen.getExpressionInfo(k) as binaryen.ConstInfo).value : undefined;
        calls.add(typeof constant === "number" ? `slot:${constant}` : "call_indirect");
      }
    });
    return [...calls];
  });
}

/**
 * Puts a fuel check at the top of every loop of `functionName`: trap
 * (`unreachable`) when the counter `fuelGlobal` is zero, otherwise take one.
 */
export function meterLoops(module: BinaryenModule, functionName: string, fuelGlobal: string): void {
  const fn = definedFunctions(module).find((f) => f.name === functionName);
  if (!fn) throw new Error(`internal: the code page has no function ${functionName} to meter`);
  const loop = binaryen as unknown as { Loop: { getBody(e: number): number; setBody(e: number, body: number): void } };
  const loops: number[] = [];
  walk(fn.body, (expr) => {
    if (binaryen.getExpressionId(expr) === binaryen.LoopId) loops.push(expr);
  });
  for (const expr of loops) {
    const body = loop.Loop.getBody(expr);
    const fuel = () => module.global.get(fuelGlobal, binaryen.i32);
    const check = module.if(module.i32.eqz(fuel()), module.unreachable());
    const take = module.global.set(fuelGlobal, module.i32.sub(fuel(), module.i32.const(1)));
    loop.Loop.setBody(expr, module.block(null, [check, take, body], binaryen.getExpressionType(body)));
  }
}
