/**
 * Maintenance (#/maintenance): the customer-managed schedules
 * (docs/maintenance.md) — each maintenance configuration with its window in
 * words, what it installs, the machines it would patch now (assignments and
 * dynamic scopes, evaluated now), its next windows with Cancel for a run
 * still before its cut-off, and its past runs with each machine's outcome.
 * Read from GET /hotpatch/maintenance; a cancel is ARM's
 * `PUT …/applyUpdates/{run}` `{ status: "Cancel" }`, whose refusal (past the
 * cut-off) is shown as the API words it. Reloads on the server's maintenance,
 * installation and clock events, so a run is seen as it happens.
 */
import { useState } from "preact/hooks";
import { call, get } from "../api.ts";
import { useServerEvents } from "../events.ts";
import { when } from "../format.ts";
import { describeError, Pending, Stale, useResource } from "../resource.tsx";
import type { MaintenanceRun, MaintenanceView } from "../types.ts";

type Configuration = MaintenanceView["configurations"][number];

const PAST_RUNS_SHOWN = 8;

export function Maintenance() {
  const { value, problem, refresh } = useResource(() => get<MaintenanceView>("/hotpatch/maintenance"), []);
  useServerEvents(
    (e) => {
      if (e.type === "maintenance" || e.type === "clock" || e.type === "installation") refresh();
    },
    [refresh],
  );
  if (value === undefined) return <Pending problem={problem} />;
  return (
    <section>
      <h1>Maintenance configurations</h1>
      <Stale problem={problem} />
      {value.configurations.length === 0 ? (
        <p data-testid="no-configurations">
          No maintenance configuration yet: create one with <code>hotpatch schedule-config create</code> or a PUT of
          Microsoft.Maintenance/maintenanceConfigurations.
        </p>
      ) : (
        value.configurations.map((c) => <ConfigurationCard key={c.id} configuration={c} onChanged={refresh} />)
      )}
    </section>
  );
}

function ConfigurationCard({ configuration: c, onChanged }: { configuration: Configuration; onChanged: () => void }) {
  const p = c.installPatches;
  const past = [...c.runs.past].reverse().slice(0, PAST_RUNS_SHOWN);
  return (
    <article class="card" data-testid={`configuration-${c.name}`}>
      <h2>{c.name}</h2>
      <div class="facts">
        <div>
          <span class="label">Window</span> {c.summary}
        </div>
        <div>
          <span class="label">Installs</span> {p.classificationsToInclude.join(", ")}; reboot {p.rebootSetting}
          {p.kbNumbersToExclude.length > 0 && `; excludes ${p.kbNumbersToExclude.join(", ")}`}
        </div>
        <div data-testid="machines-now">
          <span class="label">Machines now</span> {c.machines.machines.map((m) => `${m.vm} (${m.via})`).join(", ") || "none"}
        </div>
      </div>
      <h3>Next windows</h3>
      <RunTable configuration={c} runs={c.runs.upcoming} upcoming onChanged={onChanged} />
      <h3>Past runs</h3>
      {past.length === 0 ? <p>No run yet.</p> : <RunTable configuration={c} runs={past} onChanged={onChanged} />}
    </article>
  );
}

function RunTable({ configuration, runs, upcoming, onChanged }: { configuration: Configuration; runs: MaintenanceRun[]; upcoming?: boolean; onChanged: () => void }) {
  return (
    <table class="grid" data-testid={upcoming ? "upcoming-runs" : "past-runs"}>
      <thead>
        <tr>
          <th>Run</th>
          <th>Window (UTC)</th>
          <th>Status</th>
          <th>{upcoming ? "Cancel until" : "Machines"}</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.name} data-run={run.name}>
            <td>{run.name}</td>
            <td>
              {when(run.start)} – {when(run.end)}
            </td>
            <td data-testid="run-status">
              {run.status}
              {run.cancelled !== null && <div class="hint">{run.cancelled.reason}</div>}
            </td>
            <td>{upcoming ? <CancelRun configuration={configuration} run={run} onChanged={onChanged} /> : <Machines run={run} />}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Machines({ run }: { run: MaintenanceRun }) {
  if (run.machines.length === 0 && run.leftOut.length === 0) return <span class="hint">none</span>;
  return (
    <ul class="plain">
      {run.machines.map((m) => (
        <li key={m.vm} data-outcome={m.outcome} title={m.error ?? undefined}>
          {m.vm}: {m.outcome}
          {m.outcome === "PrerequisitesNotMet" || m.error !== null ? ` — ${m.error}` : `, ${m.installed} installed${m.pending > 0 ? `, ${m.pending} pending` : ""}`}
        </li>
      ))}
      {run.leftOut.map((l) => (
        <li key={l.vm} class="hint">
          {l.vm}: left out — {l.reason}
        </li>
      ))}
    </ul>
  );
}

function CancelRun({ configuration, run, onChanged }: { configuration: Configuration; run: MaintenanceRun; onChanged: () => void }) {
  const [problem, setProblem] = useState<string>();
  const [busy, setBusy] = useState(false);
  if (run.status !== "Scheduled") return <span class="hint">—</span>;
  const cancel = async () => {
    setBusy(true);
    setProblem(undefined);
    try {
      await call("PUT", `${configuration.id}/providers/Microsoft.Maintenance/applyUpdates/${run.name}?api-version=2023-04-01`, { properties: { status: "Cancel" } });
      onChanged();
    } catch (error) {
      setProblem(describeError(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span>
      {when(run.cancellationCutOff)}{" "}
      <button type="button" disabled={busy} onClick={cancel}>
        Cancel run
      </button>
      {problem !== undefined && (
        <div class="problem" role="alert">
          {problem}
        </div>
      )}
    </span>
  );
}
