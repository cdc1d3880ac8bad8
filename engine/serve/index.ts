/**
 * `hotpatch serve`: the ARM-compatible API, the emulator's endpoints and the
 * portal over one state file (docs/api.md).
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { DEFAULT_TOKEN_SECONDS, mintToken } from "./auth.ts";
export { DEFAULT_HOST, DEFAULT_PORT, startServer } from "./server.ts";
export { armPlacement } from "./resources.ts";
