/**
 * One worker thread running a guest process (engine/worker/worker-main.ts),
 * seen from the control plane: start it, post control messages, terminate
 * it. One instance is one life of the process; restarts are the supervisor's
 * business (supervisor.ts).
 *
 * Posting contract: a control message is posted first, then the wake flag is
 * raised; the worker lowers the flag before draining its port, so no message
 * can be left behind.
 *
 * Delivery contract: every message the worker posted before its thread ended
 * reaches `onMessage` before `onExit` runs. The port and the thread's `exit`
 * event are separate channels, and a busy control thread can see `exit`
 * first (the worker posts `stopped` and returns), so the exit handler drains
 * the port synchronously before it reports the exit.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import { HotpatchError } from "../errors.ts";
import type { SharedMetrics } from "../process/index.ts";
import { type ControlMessage, deserializeError, unpackPost, type WorkerConfig, type WorkerMessage, type WorkerPost } from "./worker-protocol.ts";

const ENTRY = new URL("./worker-entry.mjs", import.meta.url);

export type WorkerStart = Omit<WorkerConfig, "port" | "metrics">;

export class WorkerProcess {
  private exited = false;

  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly metrics: SharedMetrics,
  ) {}

  /**
   * Starts a worker and resolves once it serves (its patches re-applied).
   * Every message, from the first `ready` on, goes to `onMessage` (a batch of
   * transcript lines as one `log` message per line); `onExit`
   * runs if the thread ends by itself (not through `terminate`).
   */
  static start(config: WorkerStart, metrics: SharedMetrics, onMessage: (m: WorkerMessage) => void, onExit: (error?: Error) => void): Promise<WorkerProcess> {
    const channel = new MessageChannel();
    const workerData: WorkerConfig = { ...config, port: channel.port2, metrics: metrics.buffer };
    const worker = new Worker(ENTRY, { workerData, transferList: [channel.port2] });
    const handle = new WorkerProcess(worker, channel.port1, metrics);
    return new Promise((resolve, reject) => {
      let ready = false;
      const receive = (message: WorkerMessage) => {
        if (!ready && message.type === "ready") {
          ready = true;
          resolve(handle);
        } else if (!ready && message.type === "crashed") {
          reject(deserializeError(message.error));
          return;
        }
        if (ready) onMessage(message);
      };
      channel.port1.on("message", (post: WorkerPost) => {
        for (const message of unpackPost(post)) receive(message);
      });
      worker.on("error", (error) => {
        if (!ready) reject(new HotpatchError("E_CRASHED", `the worker failed to start: ${error.message}`));
        else onExit(error);
      });
      worker.on("exit", () => {
        if (handle.exited) return;
        for (let queued = receiveMessageOnPort(channel.port1); queued; queued = receiveMessageOnPort(channel.port1)) {
          for (const message of unpackPost(queued.message as WorkerPost)) receive(message);
        }
        handle.exited = true;
        if (!ready) reject(new HotpatchError("E_CRASHED", "the worker exited before serving"));
        else onExit();
      });
    });
  }

  send(message: ControlMessage): void {
    this.port.postMessage(message);
    this.metrics.wake();
  }

  /** Stops the thread wherever it is (a crashed or hung guest). */
  async terminate(): Promise<void> {
    this.exited = true;
    await this.worker.terminate();
    this.port.close();
  }
}
