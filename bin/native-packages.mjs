// Module hooks for bin/hotpatch.mjs, registered after tsx's so that they run
// first: binaryen and the AssemblyScript compiler are large single-file
// JavaScript modules that need no transform, and tsx transforming them
// costs seconds. Their files are handed to Node as they are (native load);
// every other module goes on to tsx. Contract: only `.js` files inside a
// node_modules/binaryen or node_modules/assemblyscript folder are touched.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const NATIVE = /\/node_modules\/(binaryen|assemblyscript)\/.*\.js$/;

export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !NATIVE.test(url)) return nextLoad(url, context);
  return { format: "module", source: await readFile(fileURLToPath(url)), shortCircuit: true };
}
