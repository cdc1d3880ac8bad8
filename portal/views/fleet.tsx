/**
 * The fleet (#/fleet): its VMs laid out by region, zone, availability set and
 * update domain, each coloured by its outcome in the rollout shown; the
 * rollouts with Resume and Stop for a halted one; a form that starts a
 * release's rollout (optionally defective) and, on a state with no fleet, one
 * that creates it from a spec. Everything goes through the emulator's fleet
 * endpoints (docs/api.md) and reloads on the server's fleet events, so a
 * rollout is watched round by round.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, call, get } from "../api.ts";
import { useServerEvents } from "../events.ts";
import { describeError, Pending, Stale, useResource } from "../resource.tsx";
import type { FleetView, RolloutView } from "../types.ts";
import { Rollout } from "./fleet-rollout.tsx";

const EXAMPLE_SPEC = {
  image: "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition-core",
  timezone: "America/New_York",
  processes: 1,
  groups: [
    { region: "eastus", availabilitySet: "web", updateDomains: 5, faultDomains: 2, count: 10 },
    { region: "eastus", zone: "1", count: 4 },
    { region: "westus", count: 4, timezone: "America/Los_Angeles" },
  ],
};

async function loadFleet(): Promise<FleetView | null> {
  try {
    return await get<FleetView>("/hotpatch/fleet");
  } catch (error) {
    if (error instanceof ApiError && error.code === "FleetNotFound") return null;
    throw error;
  }
}

export function Fleet() {
  const { value: fleet, problem, refresh } = useResource(loadFleet, []);
  const [shown, setShown] = useState<string>();
  // A rollout brings an event per install: reload once they pause, and at once when a round or the rollout ends.
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useServerEvents(
    (e) => {
      if (!e.type.startsWith("fleet.") && e.type !== "vm.booted") return;
      clearTimeout(pending.current);
      pending.current = setTimeout(refresh, e.type === "vm.booted" ? 300 : 0);
    },
    [refresh],
  );
  useEffect(() => () => clearTimeout(pending.current), []);
  if (fleet === undefined) return <Pending problem={problem} />;
  if (fleet === null) return <CreateFleet onCreated={refresh} />;
  const month = shown ?? fleet.rollouts.at(-1)?.release;
  return (
    <section>
      <h1>Fleet</h1>
      <Stale problem={problem} />
      <div class="facts" data-testid="fleet-facts">
        <div>
          <span class="label">VMs</span> {fleet.vms.length} ({fleet.vms.filter((v) => v.running).length} running)
        </div>
        <div>
          <span class="label">Regions</span>{" "}
          {Object.entries(fleet.regions)
            .map(([r, n]) => `${r} ${n}`)
            .join(", ")}
        </div>
        <div>
          <span class="label">Off-peak window</span> {fleet.window} local time
        </div>
        <div>
          <span class="label">Image</span> {fleet.image.split(":")[2]}
        </div>
      </div>
      <StartRollout
        onStarted={(m) => {
          setShown(m);
          refresh();
        }}
      />
      <h2>Rollouts</h2>
      <table class="grid" data-testid="rollouts">
        <thead>
          <tr>
            <th>Release</th>
            <th>Status</th>
            <th>Succeeded</th>
            <th>Unhealthy</th>
            <th>Not started</th>
            <th>Halt reason</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {fleet.rollouts.map((r) => (
            <tr key={r.release} class={r.release === month ? "selected" : ""}>
              <td>
                <button type="button" class="link" onClick={() => setShown(r.release)}>
                  {r.release}
                </button>
              </td>
              <td class={r.status === "Halted" ? "problem" : r.status === "Completed" ? "ok" : ""}>{r.status}</td>
              <td>{r.succeeded}</td>
              <td>{r.unhealthy}</td>
              <td>{r.notStarted}</td>
              <td>{r.haltReason ?? ""}</td>
              <td>{r.status === "Halted" && <HaltedActions month={r.release} onDone={refresh} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {fleet.rollouts.length === 0 && <p>No rollout yet: start one above ({fleet.vms.length} VMs, every one NotStarted).</p>}
      {month !== undefined && <Rollout key={month} month={month} fleet={fleet} />}
    </section>
  );
}

function HaltedActions({ month, onDone }: { month: string; onDone: () => void }) {
  const [problem, setProblem] = useState<string>();
  const [busy, setBusy] = useState(false);
  const act = (verb: "resume" | "stop") => () => {
    setProblem(undefined);
    setBusy(true);
    call("POST", `/hotpatch/fleet/rollouts/${month}/${verb}`)
      .then(onDone, (error) => setProblem(describeError(error)))
      .finally(() => setBusy(false));
  };
  return (
    <span class="inline-actions">
      <button type="button" disabled={busy} onClick={act("resume")}>
        Resume
      </button>
      <button type="button" disabled={busy} onClick={act("stop")}>
        Stop
      </button>
      {problem && (
        <span class="problem" role="alert">
          {problem}
        </span>
      )}
    </span>
  );
}

function StartRollout({ onStarted }: { onStarted: (month: string) => void }) {
  const [release, setRelease] = useState("");
  const [defect, setDefect] = useState("");
  const [problem, setProblem] = useState<string>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setProblem(undefined);
    try {
      await call<RolloutView>("POST", "/hotpatch/fleet/rollouts", { release, ...(defect === "" ? {} : { defectiveRelease: defect }) });
      onStarted(release);
    } catch (error) {
      setProblem(describeError(error));
    }
  };
  return (
    <form class="card" onSubmit={submit} data-testid="start-rollout">
      <h2>Roll out a release</h2>
      <label>
        Release (YYYY-MM) <input required placeholder="2026-03" value={release} onInput={(e) => setRelease(e.currentTarget.value)} />
      </label>
      <label>
        Defect (fault injection)
        <select value={defect} onChange={(e) => setDefect(e.currentTarget.value)}>
          <option value="">none: a sound release</option>
          <option value="trap">trap: a handler that traps</option>
          <option value="wrong-revision">wrong-revision</option>
        </select>
      </label>
      <button type="submit">Start rollout</button>
      {problem && (
        <p class="problem" role="alert">
          {problem}
        </p>
      )}
    </form>
  );
}

function CreateFleet({ onCreated }: { onCreated: () => void }) {
  const [text, setText] = useState(JSON.stringify(EXAMPLE_SPEC, null, 2));
  const [problem, setProblem] = useState<string>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setProblem(undefined);
    let spec: unknown;
    try {
      spec = JSON.parse(text);
    } catch (error) {
      setProblem(`The spec is not JSON: ${(error as Error).message}`);
      return;
    }
    try {
      await call("PUT", "/hotpatch/fleet", spec);
      onCreated();
    } catch (error) {
      setProblem(describeError(error));
    }
  };
  return (
    <section>
      <h1>Fleet</h1>
      <p>This state has no fleet. A fleet spec places VMs in regions, zones and availability sets (docs/fleets.md):</p>
      <form class="card" onSubmit={submit} data-testid="create-fleet">
        <label>
          Fleet spec
          <textarea class="spec" rows={14} value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        <button type="submit">Create fleet</button>
        {problem && (
          <p class="problem" role="alert">
            {problem}
          </p>
        )}
      </form>
    </section>
  );
}
