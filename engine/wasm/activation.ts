/**
 * Activation counters: which patchable functions are on the guest's stack.
 *
 * A guest can only be interrupted where it calls the host's `env.safepoint`
 * import (see engine/process/host.ts); between two requests nothing runs at
 * all. So at a safe point the only functions that can have a frame on the
 * stack are those that can reach that import through calls. Those functions,
 * and only those, get a counter: a mutable i32 global named `<F>@active`,
 * incremented and decremented by F's trampoline around its `call_indirect`
 * (engine/wasm/instrument.ts). The trampoline is inlined into every caller,
 * so every entry into F through its slot is counted, whichever version of F
 * the slot holds; F's body is not rewritten.
 *
 * Counters are ordinary globals: the image exports them like its other
 * globals (`hotpatch:global:N`) and code pages import them by key, so patched
 * code keeps counting. A trap leaves counters raised: the process is then
 * crashed and discarded, never patched again (engine/worker/supervisor.ts).
 *
 * Reachability is computed over direct calls; a function that makes an
 * indirect call (a function pointer, through the guest's own tables) is
 * assumed to reach every function placed in an element segment.
 */
import { binaryen, type BinaryenModule, definedFunctions, elementSegments, importedFunctions } from "./binaryen.ts";
import { SAFEPOINT_IMPORT } from "../format/index.ts";

/**
 * Names of the defined functions that can reach the safepoint import (empty
 * when the module does not import it). Must run before instrumentation: it
 * reads the original bodies' calls.
 */
export function functionsReachingSafepoint(module: BinaryenModule): Set<string> {
  const safepoint = importedFunctions(module).find((f) => f.module === SAFEPOINT_IMPORT.module && f.base === SAFEPOINT_IMPORT.base);
  if (!safepoint) return new Set();
  const pointees = elementSegments(module).flatMap((segment) => segment.functions);
  const callers = new Map<string, Set<string>>(); // callee → its callers
  const edge = (caller: string, callee: string) => {
    const set = callers.get(callee) ?? new Set<string>();
    callers.set(callee, set);
    set.add(caller);
  };
  for (const fn of definedFunctions(module)) {
    const text = binaryen.emitText(fn.body);
    for (const match of text.matchAll(/\(call \$("(?:[^"\\]|\\.)*"|[^\s()]+)/g)) edge(fn.name, unquote(match[1]));
    if (text.includes("(call_indirect")) for (const target of pointees) edge(fn.name, target);
  }
  const reached = new Set<string>();
  const queue = [safepoint.name];
  while (queue.length > 0) {
    for (const caller of callers.get(queue.pop()!) ?? []) {
      if (!reached.has(caller)) {
        reached.add(caller);
        queue.push(caller);
      }
    }
  }
  return reached;
}

function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replace(/\\(.)/g, "$1") : name;
}

/**
 * The body of a counting trampoline: `active += 1; r = call_indirect; active -= 1; r`.
 * `resultLocal` is the index of a local of the result type (unused for void).
 */
export function countingCall(module: BinaryenModule, counter: string, call: number, results: number, resultLocal: number): number {
  const bump = (delta: 1 | -1) => {
    const value = module.global.get(counter, binaryen.i32);
    return module.global.set(counter, delta > 0 ? module.i32.add(value, module.i32.const(1)) : module.i32.sub(value, module.i32.const(1)));
  };
  if (results === binaryen.none) return module.block(null, [bump(1), call, bump(-1)], binaryen.none);
  return module.block(
    null,
    [bump(1), module.local.set(resultLocal, call), bump(-1), module.local.get(resultLocal, results)],
    results,
  );
}
