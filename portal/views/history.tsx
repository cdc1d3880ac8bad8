/**
 * The VM's update history (30 days, as the portal's Update history tab): one
 * row per run — assessments aside, each install, uninstall or rollback with
 * its outcome, counts and reboot — and the details of every update in it.
 */
import { get } from "../api.ts";
import { useServerEvents } from "../events.ts";
import { Pending, Stale, useResource } from "../resource.tsx";
import type { HistoryEntry } from "../types.ts";

interface Run {
  activityId: string;
  operation: string;
  trigger: string;
  started: string;
  entries: HistoryEntry[];
}

function runsOf(entries: readonly HistoryEntry[]): Run[] {
  const runs = new Map<string, Run>();
  for (const e of entries) {
    const key = e.activityId || `${e.operation}-${e.startedAt}`;
    let run = runs.get(key);
    if (run === undefined) {
      run = { activityId: e.activityId, operation: e.operation, trigger: e.trigger, started: e.startedAtLocal, entries: [] };
      runs.set(key, run);
    }
    run.entries.push(e);
  }
  return [...runs.values()].reverse();
}

function outcomeOf(run: Run): string {
  const results = new Set(run.entries.map((e) => e.result));
  if (results.size === 1) return [...results][0];
  return results.has("Failed") ? "CompletedWithWarnings" : [...results].join(", ");
}

export function History({ name }: { name: string }) {
  const { value, problem, refresh } = useResource(() => get<{ entries: HistoryEntry[] }>(`/hotpatch/vms/${encodeURIComponent(name)}/history?days=30`), [name]);
  useServerEvents((e) => e.vm === name && (e.type === "installation" || e.type === "removal") && refresh(), [name, refresh]);
  if (value === undefined) return <Pending problem={problem} />;
  const runs = runsOf(value.entries);
  if (runs.length === 0) return <p>No updates were installed in the last 30 days.</p>;
  return (
    <>
      <Stale problem={problem} />
    <table class="grid" data-testid="history">
      <thead>
        <tr>
          <th>Started</th>
          <th>Operation</th>
          <th>Trigger</th>
          <th>Outcome</th>
          <th>Updates</th>
          <th>Reboot</th>
          <th>Details</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.activityId + run.started}>
            <td>{run.started}</td>
            <td>{run.operation}</td>
            <td>{run.trigger}</td>
            <td>{outcomeOf(run)}</td>
            <td>
              {run.entries.filter((e) => e.result === "Succeeded").length} of {run.entries.length} succeeded
            </td>
            <td>{run.entries.some((e) => e.reboot && e.result === "Succeeded") ? "Rebooted" : "No reboot"}</td>
            <td>
              <details>
                <summary>{run.entries.map((e) => e.kb).join(", ")}</summary>
                <ul>
                  {run.entries.map((e) => (
                    <li key={e.kb}>
                      {e.kb} {e.title} — {e.classification}, {e.kind}, {e.result}
                      {e.applyMicros !== null && `, applied live in ${e.applyMicros} µs`}
                      {e.health !== null && `, health ${e.health}`}
                      {e.errors.length > 0 && `: ${e.errors.join("; ")}`}
                    </li>
                  ))}
                </ul>
              </details>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
    </>
  );
}
