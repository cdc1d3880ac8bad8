/**
 * The management plane's embedded database: one SQLite file (better-sqlite3).
 *
 * Contracts:
 * - The state file is chosen by the caller (`--state`, default
 *   DEFAULT_STATE_FILE relative to the working folder); its folder is created
 *   on first use. Build artifacts are cached beside it (artifacts.ts).
 * - WAL journal with synchronous=FULL: a committed transaction survives a
 *   killed process (and a power cut). Every change a command makes goes
 *   through `tx`, so a command that fails changes nothing.
 * - Records are JSON documents keyed by what is looked up (VM name, KB,
 *   activity id); the JSON shapes belong to the modules that write them
 *   (vm.ts, install.ts, …). Times are ISO 8601 UTC strings.
 * - `resources` holds documents of the API layer (engine/serve/: resource
 *   groups, a VM's ARM properties, long-running operations), keyed by kind
 *   and id; the management plane itself never reads them. A file of an
 *   older build gets the table when it is opened.
 * - `maintenance` holds the management plane's customer-managed schedules
 *   (maintenance configurations, their assignments and dynamic scopes, runs
 *   and webhooks; maintenance-store.ts), keyed by kind and id; older files
 *   get the table when they are opened, too.
 * - `schema_version` in `meta` guards against opening a file of another
 *   format (E_DB).
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { HotpatchError } from "../errors.ts";

export const DEFAULT_STATE_FILE = ".hotpatch/state.db";
const SCHEMA_VERSION = "1";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vms (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS installed (
  vm TEXT NOT NULL, seq INTEGER NOT NULL, kb TEXT NOT NULL, doc TEXT NOT NULL,
  PRIMARY KEY (vm, seq));
CREATE TABLE IF NOT EXISTS history (
  id INTEGER PRIMARY KEY AUTOINCREMENT, vm TEXT NOT NULL, started_at TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS history_vm ON history (vm, started_at);
CREATE TABLE IF NOT EXISTS activities (
  id TEXT PRIMARY KEY, vm TEXT NOT NULL, type TEXT NOT NULL, started_at TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS activities_vm ON activities (vm, type, started_at);
CREATE TABLE IF NOT EXISTS resources (kind TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS maintenance (kind TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, id));
`;

export interface Stored<T> {
  id: number;
  doc: T;
}

export class Store {
  readonly path: string;
  private readonly db: Database;

  private constructor(path: string, db: Database) {
    this.path = path;
    this.db = db;
  }

  /** Opens (creating if needed) the state file; ":memory:" gives a throw-away store. */
  static open(path: string = DEFAULT_STATE_FILE): Store {
    const file = path === ":memory:" ? path : resolve(path);
    let db: Database;
    try {
      if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
      db = new Database(file, { timeout: 5000 });
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      db.exec(SCHEMA);
    } catch (error) {
      throw new HotpatchError("E_DB", `cannot open the state database: ${(error as Error).message}`, { path: file });
    }
    const store = new Store(file, db);
    const version = store.meta("schema_version");
    if (version === undefined) store.setMeta("schema_version", SCHEMA_VERSION);
    else if (version !== SCHEMA_VERSION) {
      db.close();
      throw new HotpatchError("E_DB", `the state file has schema version ${version}; this build reads ${SCHEMA_VERSION}`, { path: file });
    }
    return store;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs `fn` in one transaction (nested calls join the outer one). */
  tx<R>(fn: () => R): R {
    if (this.db.inTransaction) return fn();
    return this.db.transaction(fn)();
  }

  meta(key: string): string | undefined {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key, value);
  }

  // VMs -------------------------------------------------------------------

  vm<T>(name: string): T | undefined {
    const row = this.db.prepare("SELECT doc FROM vms WHERE name = ?").get(name) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as T) : undefined;
  }

  vms<T>(): T[] {
    return (this.db.prepare("SELECT doc FROM vms ORDER BY name").all() as { doc: string }[]).map((r) => JSON.parse(r.doc) as T);
  }

  putVm(name: string, doc: unknown): void {
    this.db.prepare("INSERT INTO vms (name, doc) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET doc = excluded.doc").run(name, JSON.stringify(doc));
  }

  /** Deletes a VM with its installed updates, history, activities and maintenance configuration assignments. */
  deleteVm(name: string): void {
    this.tx(() => {
      this.db.prepare("DELETE FROM vms WHERE name = ?").run(name);
      for (const table of ["installed", "history", "activities"]) this.db.prepare(`DELETE FROM ${table} WHERE vm = ?`).run(name);
      const prefix = `${name.toLowerCase()}/`;
      this.db.prepare("DELETE FROM maintenance WHERE kind = 'assignment' AND substr(id, 1, ?) = ?").run(prefix.length, prefix);
    });
  }

  // Installed updates, in installation order (seq) -------------------------

  installed<T>(vm: string): T[] {
    const rows = this.db.prepare("SELECT doc FROM installed WHERE vm = ? ORDER BY seq").all(vm) as { doc: string }[];
    return rows.map((r) => JSON.parse(r.doc) as T);
  }

  addInstalled(vm: string, kb: string, doc: unknown): void {
    const row = this.db.prepare("SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM installed WHERE vm = ?").get(vm) as { next: number };
    this.db.prepare("INSERT INTO installed (vm, seq, kb, doc) VALUES (?, ?, ?, ?)").run(vm, row.next, kb, JSON.stringify(doc));
  }

  /** Replaces the document of the installed update `kb` (the most recent row for it). */
  updateInstalled(vm: string, kb: string, doc: unknown): void {
    this.db
      .prepare("UPDATE installed SET doc = ? WHERE vm = ? AND seq = (SELECT MAX(seq) FROM installed WHERE vm = ? AND kb = ?)")
      .run(JSON.stringify(doc), vm, vm, kb);
  }

  removeInstalled(vm: string, kb: string): void {
    this.db.prepare("DELETE FROM installed WHERE vm = ? AND kb = ?").run(vm, kb);
  }

  // History ---------------------------------------------------------------

  addHistory(vm: string, startedAt: string, doc: unknown): number {
    return Number(this.db.prepare("INSERT INTO history (vm, started_at, doc) VALUES (?, ?, ?)").run(vm, startedAt, JSON.stringify(doc)).lastInsertRowid);
  }

  updateHistory(id: number, doc: unknown): void {
    this.db.prepare("UPDATE history SET doc = ? WHERE id = ?").run(JSON.stringify(doc), id);
  }

  /** History of a VM, oldest first; `since` (ISO) keeps entries started at or after it. */
  history<T>(vm: string, since?: string): Stored<T>[] {
    const rows = this.db
      .prepare("SELECT id, doc FROM history WHERE vm = ? AND started_at >= ? ORDER BY started_at, id")
      .all(vm, since ?? "") as { id: number; doc: string }[];
    return rows.map((r) => ({ id: r.id, doc: JSON.parse(r.doc) as T }));
  }

  // Activities (assessments, installations) ---------------------------------

  putActivity(id: string, vm: string, type: string, startedAt: string, doc: unknown): void {
    this.db
      .prepare("INSERT INTO activities (id, vm, type, started_at, doc) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc")
      .run(id, vm, type, startedAt, JSON.stringify(doc));
  }

  /** The most recent activity of a type on a VM. */
  latestActivity<T>(vm: string, type: string): T | undefined {
    const row = this.db.prepare("SELECT doc FROM activities WHERE vm = ? AND type = ? ORDER BY started_at DESC, rowid DESC LIMIT 1").get(vm, type) as
      | { doc: string }
      | undefined;
    return row ? (JSON.parse(row.doc) as T) : undefined;
  }

  activities<T>(vm: string, type: string): T[] {
    const rows = this.db.prepare("SELECT doc FROM activities WHERE vm = ? AND type = ? ORDER BY started_at, rowid").all(vm, type) as { doc: string }[];
    return rows.map((r) => JSON.parse(r.doc) as T);
  }

  // Documents of the API layer (engine/serve/) -------------------------------

  resource<T>(kind: string, id: string): T | undefined {
    const row = this.db.prepare("SELECT doc FROM resources WHERE kind = ? AND id = ?").get(kind, id) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as T) : undefined;
  }

  /** Every document of a kind, ordered by id. */
  resources<T>(kind: string): T[] {
    return (this.db.prepare("SELECT doc FROM resources WHERE kind = ? ORDER BY id").all(kind) as { doc: string }[]).map((r) => JSON.parse(r.doc) as T);
  }

  putResource(kind: string, id: string, doc: unknown): void {
    this.db
      .prepare("INSERT INTO resources (kind, id, doc) VALUES (?, ?, ?) ON CONFLICT(kind, id) DO UPDATE SET doc = excluded.doc")
      .run(kind, id, JSON.stringify(doc));
  }

  deleteResource(kind: string, id: string): void {
    this.db.prepare("DELETE FROM resources WHERE kind = ? AND id = ?").run(kind, id);
  }

  // Customer-managed schedules (maintenance-store.ts) ------------------------

  maintenanceDoc<T>(kind: string, id: string): T | undefined {
    const row = this.db.prepare("SELECT doc FROM maintenance WHERE kind = ? AND id = ?").get(kind, id) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as T) : undefined;
  }

  /** Every document of a kind, ordered by id; `prefix` keeps the ids that start with it. */
  maintenanceDocs<T>(kind: string, prefix = ""): T[] {
    const rows = this.db.prepare("SELECT doc FROM maintenance WHERE kind = ? AND substr(id, 1, ?) = ? ORDER BY id").all(kind, prefix.length, prefix) as { doc: string }[];
    return rows.map((r) => JSON.parse(r.doc) as T);
  }

  putMaintenanceDoc(kind: string, id: string, doc: unknown): void {
    this.db
      .prepare("INSERT INTO maintenance (kind, id, doc) VALUES (?, ?, ?) ON CONFLICT(kind, id) DO UPDATE SET doc = excluded.doc")
      .run(kind, id, JSON.stringify(doc));
  }

  deleteMaintenanceDoc(kind: string, id: string): void {
    this.db.prepare("DELETE FROM maintenance WHERE kind = ? AND id = ?").run(kind, id);
  }

  /** Deletes every document of a kind whose id starts with `prefix`. */
  deleteMaintenanceDocs(kind: string, prefix: string): void {
    this.db.prepare("DELETE FROM maintenance WHERE kind = ? AND substr(id, 1, ?) = ?").run(kind, prefix.length, prefix);
  }
}
