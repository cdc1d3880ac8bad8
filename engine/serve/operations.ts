/**
 * ARM long-running operations (assessPatches, installPatches): recorded in
 * the state before the 202 goes out, run through the serial queue, and
 * finished with their result or error.
 *
 * Contracts:
 * - An operation is persisted (store kind "operation") when it starts, and
 *   again when it ends; a server killed in between leaves it InProgress, and
 *   `closeInterrupted` (at the next start) marks it Failed with
 *   `OperationInterrupted` — nothing that was answered is forgotten.
 * - At most one operation of a kind runs or waits per VM: `busy` names it, and
 *   the route answers 409 Conflict.
 * - `status` is one of InProgress, Succeeded, Failed, Canceled (ARM's
 *   OperationStatusResponse); `startTime`/`endTime` are emulated times.
 */
import { randomUUID } from "node:crypto";
import type { Store } from "../manage/index.ts";
import { type ArmErrorBody, armErrorOf } from "./arm-error.ts";
import type { Serial } from "./serial.ts";

export type OperationKind = "assessPatches" | "installPatches";

export interface Operation {
  id: string;
  kind: OperationKind;
  subscription: string;
  resourceGroup: string;
  vm: string;
  location: string;
  /** Whose operation it is: a Compute VM's (absent, as in older states) or an Arc machine's (Microsoft.HybridCompute). */
  provider?: "Microsoft.Compute" | "Microsoft.HybridCompute";
  status: "InProgress" | "Succeeded" | "Failed" | "Canceled";
  startTime: string;
  endTime?: string;
  /** The final VirtualMachineAssessPatchesResult / VirtualMachineInstallPatchesResult. */
  result?: unknown;
  error?: ArmErrorBody["error"];
  /** The HTTP status of `error` (what the monitor URL answers for a Failed operation). */
  errorStatus?: number;
}

const KIND = "operation";

export class Operations {
  constructor(
    private readonly store: Store,
    private readonly serial: Serial,
    private readonly now: () => Date,
  ) {}

  get(id: string): Operation | undefined {
    return this.store.resource<Operation>(KIND, id.toLowerCase());
  }

  /** The operation of `kind` that runs or waits on `vm`, if any. */
  busy(vm: string, kind: OperationKind): Operation | undefined {
    return this.store.resources<Operation>(KIND).find((o) => o.vm === vm && o.kind === kind && o.status === "InProgress");
  }

  /** Records the operation, queues `work`, and returns the record at once (InProgress). */
  start(spec: Omit<Operation, "id" | "status" | "startTime">, work: () => Promise<unknown>): Operation {
    const op: Operation = { ...spec, id: randomUUID(), status: "InProgress", startTime: this.now().toISOString() };
    this.store.putResource(KIND, op.id, op);
    void this.serial.run(async () => {
      try {
        const result = await work();
        this.finish(op, { status: "Succeeded", result });
      } catch (error) {
        const arm = armErrorOf(error);
        this.finish(op, { status: "Failed", error: arm.body().error, errorStatus: arm.status });
      }
    });
    return op;
  }

  /** Marks operations a stopped server left InProgress as Failed; returns how many. */
  closeInterrupted(): number {
    let closed = 0;
    for (const op of this.store.resources<Operation>(KIND)) {
      if (op.status !== "InProgress") continue;
      this.finish(op, {
        status: "Failed",
        error: { code: "OperationInterrupted", message: `The operation ${op.kind} on '${op.vm}' was interrupted: the server stopped before it ended.` },
        errorStatus: 500,
      });
      closed += 1;
    }
    return closed;
  }

  private finish(op: Operation, end: Pick<Operation, "status" | "result" | "error" | "errorStatus">): void {
    Object.assign(op, end, { endTime: this.now().toISOString() });
    this.store.putResource(KIND, op.id, op);
  }
}
