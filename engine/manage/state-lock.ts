/**
 * Who holds a state file: a running `hotpatch serve` takes the file for as
 * long as it runs, and every other command refuses it meanwhile.
 *
 * Why not share it: SQLite would keep the file itself consistent, but the
 * server also holds the VMs' running processes and the operations in flight
 * in memory; a CLI install would change the records under a server whose
 * processes never saw it. So one writer at a time, and the CLI tells the user
 * where the server is (its URL) instead of going behind its back.
 *
 * Contracts:
 * - The lock is a file beside the state (`<state>.serve.lock`) holding the
 *   server's pid and URL, created exclusively (O_EXCL). A lock whose pid is no
 *   longer alive is stale (a server killed with SIGKILL) and is taken over, so
 *   a restart after a crash needs no manual clean-up.
 * - `release` removes the lock only if this process holds it.
 * - ":memory:" states are never locked.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { HotpatchError } from "../errors.ts";

export interface StateHolder {
  pid: number;
  url: string;
  startedAt: string;
}

export function lockPathOf(statePath: string): string {
  return `${resolve(statePath)}.serve.lock`;
}

/** The live server holding the state, if any (a stale lock counts as none). */
export function stateHolder(statePath: string): StateHolder | undefined {
  if (statePath === ":memory:") return undefined;
  let holder: StateHolder;
  try {
    holder = JSON.parse(readFileSync(lockPathOf(statePath), "utf8")) as StateHolder;
  } catch {
    return undefined; // no lock, or one cut short by a crash while it was written
  }
  return isAlive(holder.pid) ? holder : undefined;
}

/** E_STATE_BUSY when a live server holds the state. Called by every command before it opens the state. */
export function refuseWhileServed(statePath: string): void {
  const holder = stateHolder(statePath);
  if (holder === undefined || holder.pid === process.pid) return;
  throw new HotpatchError(
    "E_STATE_BUSY",
    `the state file ${resolve(statePath)} is held by hotpatch serve (pid ${holder.pid}, ${holder.url}); use its API, or stop it (SIGINT/SIGTERM) first`,
    { path: resolve(statePath), pid: holder.pid, url: holder.url },
  );
}

/** Takes the state for this process (a stale lock is taken over); E_STATE_BUSY when a live server holds it. */
export function acquireState(statePath: string, url: string, now: Date): void {
  if (statePath === ":memory:") return;
  refuseWhileServed(statePath);
  const path = lockPathOf(statePath);
  rmSync(path, { force: true }); // stale, or ours from a previous start in this process
  const holder: StateHolder = { pid: process.pid, url, startedAt: now.toISOString() };
  try {
    writeFileSync(path, `${JSON.stringify(holder)}\n`, { flag: "wx" });
  } catch (error) {
    // Another server won the race between our check and the exclusive create.
    if ((error as NodeJS.ErrnoException).code === "EEXIST") refuseWhileServed(statePath);
    throw new HotpatchError("E_IO", `cannot write the state lock ${path}: ${(error as Error).message}`, { path });
  }
}

/** Gives the state back (only if this process holds it). */
export function releaseState(statePath: string): void {
  if (statePath === ":memory:") return;
  const holder = stateHolder(statePath);
  if (holder?.pid === process.pid) rmSync(lockPathOf(statePath), { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
