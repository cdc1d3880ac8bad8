/** A full garbage collection (V8's --expose-gc, switched on for this call only), so memory deltas are not GC timing. */
import v8 from "node:v8";
import vm from "node:vm";

export function collectGarbage(): void {
  v8.setFlagsFromString("--expose-gc");
  (vm.runInNewContext("gc") as () => void)();
}
