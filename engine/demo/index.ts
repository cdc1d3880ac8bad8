/**
 * The teaching demo: an exploit leaks a token, a hotpatch goes live, the same
 * request is refused, and the counters never reset.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { runDemo } from "./demo.ts";
