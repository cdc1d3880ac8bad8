#!/usr/bin/env node
// The `hotpatch` command. The engine is TypeScript; tsx compiles it on load
// (Node 20 cannot run TypeScript by itself).
//
// binaryen and the AssemblyScript compiler are large single-file modules:
// imported through tsx's loader they take seconds to transform, imported
// natively a fraction of that. bin/native-packages.mjs hands them to Node
// untransformed, so they load natively whenever (and only if) a command
// imports them: `patch build` on a build-cache hit loads neither.
import { register as registerHooks } from "node:module";
import { setFlagsFromString } from "node:v8";
import { register } from "tsx/esm/api";

// Build verbs run binaryen's optimiser once and exit: V8's baseline code for
// binaryen's WebAssembly is ready at once, while optimising it in the
// background only competes for the cores (the optimiser ran 2-5x slower
// cold). Every other verb keeps V8's default tiering, since it runs guests.
// Set before anything compiles WebAssembly.
//
// Every other verb runs guests and applies patches, and compiles WebAssembly
// eagerly: with V8's default lazy compilation a code page's functions compiled
// on their first call, which is the first request to run the new code after
// the switch (kvstore's `handle`: that request ~100 µs late, once per apply;
// it was the whole p99 of the storm suite). Eagerly, they compile when the
// package is staged, on the control plane. Build verbs keep lazy compilation:
// binaryen is a large WebAssembly module of which a build runs a small part.
const BUILD_VERBS = ["image", "patch"];
if (BUILD_VERBS.includes(process.argv[2])) setFlagsFromString("--liftoff-only");
else setFlagsFromString("--no-wasm-lazy-compilation");

register();
registerHooks("./native-packages.mjs", import.meta.url);
const { main } = await import("../engine/cli/index.ts");
// `hotpatch bench` lives in bench/ (above the engine): wired in here; bench/cli.ts is small and
// loads the suites only when `bench` runs.
const { registerBench } = await import("../bench/cli.ts");
process.exitCode = await main(process.argv.slice(2), [registerBench]);
