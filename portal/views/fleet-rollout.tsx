/**
 * One rollout of the fleet: the fleet's map (region → zone, availability set
 * by update domain, Flexible scale set by fault domain, standalone VMs), each VM coloured by its outcome in this
 * rollout with when it was patched, and the plan's phases and batches with
 * their outcomes. Reloads on the server's fleet events for this release.
 */
import { get } from "../api.ts";
import { useServerEvents } from "../events.ts";
import { when } from "../format.ts";
import { Pending, Stale, useResource } from "../resource.tsx";
import type { FleetView, RolloutView } from "../types.ts";

type FleetVmView = FleetView["vms"][number];
type Outcome = RolloutView["vms"][number]["outcome"];

export function Rollout({ month, fleet }: { month: string; fleet: FleetView }) {
  const { value: rollout, problem, refresh } = useResource(() => get<RolloutView>(`/hotpatch/fleet/rollouts/${month}`), [month]);
  useServerEvents((e) => e.type.startsWith("fleet.") && e.data.release === month && refresh(), [refresh, month]);
  if (rollout === undefined) return <Pending problem={problem} />;
  const outcomes = new Map(rollout.vms.map((v) => [v.name, v]));
  return (
    <section data-testid="rollout">
      <h2>
        Rollout of {rollout.release}: {rollout.status}
      </h2>
      <Stale problem={problem} />
      <p class="hint">
        Released {when(rollout.releasedAt)}; every VM within 30 days, by {when(rollout.deadline)}.
      </p>
      {rollout.haltReason && (
        <p class="problem" role="alert">
          Halted: {rollout.haltReason}
        </p>
      )}
      <div class="fleet-map" data-testid="fleet-map">
        {regionsOf(fleet.vms).map(([region, units]) => (
          <div class="region" key={region}>
            <h3>{region}</h3>
            {units.map(([unit, vms]) => (
              <div class="unit" key={unit}>
                <span class="hint">{unit}</span>{" "}
                {vms.map((vm) => {
                  const rolled = outcomes.get(vm.name);
                  const outcome: Outcome = rolled?.outcome ?? "NotStarted";
                  const patched = rolled?.patchedFrom ? `, patched ${when(rolled.patchedFrom)} → ${when(rolled.patchedTo)}` : "";
                  return (
                    <span class={`vm ${outcome}`} key={vm.name} title={`${vm.name}: ${outcome}${patched}; ${vm.timezone}, OS build ${vm.osBuild ?? "?"}`} data-outcome={outcome}>
                      {vm.name}
                    </span>
                  );
                })}
              </div>
            ))}
          </div>
        ))}
      </div>
      <p class="legend">
        <span class="vm Succeeded">Succeeded</span> <span class="vm Unhealthy">Unhealthy</span> <span class="vm NotStarted">Not started</span>
      </p>
      <table class="grid" data-testid="batches">
        <thead>
          <tr>
            <th>Phase</th>
            <th>Region</th>
            <th>Unit</th>
            <th>VMs</th>
            <th>Outcome</th>
            <th>Started</th>
            <th>Ended</th>
          </tr>
        </thead>
        <tbody>
          {rollout.phases.flatMap((phase) =>
            phase.batches.map((b, i) => (
              <tr key={`${phase.phase}-${i}`}>
                <td>{phase.phase}</td>
                <td>{b.region}</td>
                <td>{b.unit}</td>
                <td>{b.vms.join(", ")}</td>
                <td class={b.outcome === "Unhealthy" ? "problem" : b.outcome === "Succeeded" ? "ok" : "hint"}>{b.outcome}</td>
                <td>{b.startedAt ? when(b.startedAt) : ""}</td>
                <td>{b.endedAt ? when(b.endedAt) : ""}</td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </section>
  );
}

/** The fleet's VMs by region, then unit: each zone, each set's update domains, the standalone VMs (the plan's order). */
function regionsOf(vms: readonly FleetVmView[]): [string, [string, FleetVmView[]][]][] {
  const regions = new Map<string, Map<string, FleetVmView[]>>();
  const unitOf = (vm: FleetVmView) =>
    vm.zone !== null
      ? `zone ${vm.zone}`
      : vm.availabilitySet !== null
        ? `set ${vm.availabilitySet}, update domain ${vm.updateDomain}`
        : vm.scaleSet
          ? `scale set ${vm.scaleSet}, fault domain ${vm.faultDomain}`
          : "standalone";
  for (const vm of vms) {
    const units = regions.get(vm.region) ?? new Map<string, FleetVmView[]>();
    regions.set(vm.region, units);
    units.set(unitOf(vm), [...(units.get(unitOf(vm)) ?? []), vm]);
  }
  const rank = (unit: string) => ["zone", "set", "scale set", "standalone"].findIndex((prefix) => unit.startsWith(prefix));
  return [...regions].map(([region, units]) => [region, [...units].sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b, "en", { numeric: true }))]);
}
