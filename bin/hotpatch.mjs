#!/usr/bin/env node
// The `hotpatch` command. The engine is TypeScript; tsx compiles it on load
// (Node 20 cannot run TypeScript by itself).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../engine/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
