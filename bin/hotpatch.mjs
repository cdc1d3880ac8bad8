#!/usr/bin/env node
// The `hotpatch` command. The engine is TypeScript; tsx compiles it on load
// (Node 20 cannot run TypeScript by itself).
//
// binaryen and the AssemblyScript compiler are large single-file modules:
// imported through tsx's loader they take seconds to transform, imported
// natively a fraction of that. Loading them first puts the native copies in
// the module cache, where the engine's imports then find them.
import { register } from "tsx/esm/api";

await Promise.all([import("binaryen"), import("assemblyscript/asc")]);
register();
const { main } = await import("../engine/cli/index.ts");
// `hotpatch bench` lives in bench/ (above the engine): wired in here; bench/cli.ts is small and
// loads the suites only when `bench` runs.
const { registerBench } = await import("../bench/cli.ts");
process.exitCode = await main(process.argv.slice(2), [registerBench]);
