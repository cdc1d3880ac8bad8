/**
 * Host-side codecs of the guest services in assembly/ (kvstore, calc): request
 * builders, response decoders, seeded request streams.
 *
 * The public surface of this folder: other folders import only what is listed here.
 */
export { calcVersion, randomCalcRequests } from "./calc.ts";
export { decodeStats, getRequest, HEARTBLEED_REQUEST, KVSTORE_DIR, kvstoreVersion, printableRuns, putRequest, randomRequests, scanRequest, seededRandom, statsRequest, Status } from "./kvstore.ts";
