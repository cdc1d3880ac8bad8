/**
 * How a kvstore process answers the probes that tell v1, v2 and v3
 * (assembly/kvstore/) apart, and what each version answers: v2 refuses the
 * over-declaring heartbeat (the Heartbleed fix); v3 also refuses an empty
 * heartbeat and treats deleting a missing key as success. Probing sends
 * requests, so it changes the process's counters.
 */
import { HEARTBLEED_REQUEST, printableRuns, Status } from "../engine/guests/index.ts";
import { delRequest, echoRequest } from "../engine/guests/kvstore.ts";
import type { GuestProcess } from "../engine/process/index.ts";

export function behaviour(process: GuestProcess) {
  const exploit = process.request(HEARTBLEED_REQUEST);
  return {
    exploitLeaks: exploit[0] === Status.OK && printableRuns(exploit).some((run) => run.includes("ADMIN-TOKEN=")),
    exploit: exploit.length === 1 ? [...exploit] : `${exploit.length} bytes`,
    emptyEcho: [...process.request(echoRequest("", 0))],
    missingDel: [...process.request(delRequest("no-such-key"))],
    honestEcho: [...process.request(echoRequest("ping"))],
  };
}

const PING = [Status.OK, ...new TextEncoder().encode("ping")];

export const KVSTORE_BEHAVIOUR = {
  v1: { exploitLeaks: true, exploit: "1281 bytes", emptyEcho: [Status.OK], missingDel: [Status.NOT_FOUND], honestEcho: PING },
  v2: { exploitLeaks: false, exploit: [Status.MALFORMED], emptyEcho: [Status.OK], missingDel: [Status.NOT_FOUND], honestEcho: PING },
  v3: { exploitLeaks: false, exploit: [Status.MALFORMED], emptyEcho: [Status.MALFORMED], missingDel: [Status.OK], honestEcho: PING },
};
