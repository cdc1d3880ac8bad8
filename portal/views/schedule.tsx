/** The year's release calendar (the CLI's SVG renderer) and what each VM installed in each month. */
import { useState } from "preact/hooks";
import { get } from "../api.ts";
import { useServerEvents } from "../events.ts";
import { Pending, useResource } from "../resource.tsx";

interface ScheduleView {
  year: number;
  releases: { month: string; type: string; kb: string; releaseDate: string }[];
  installs: { vm: string; kb: string; kind: string; month: string; at: string; trigger: string }[];
}

export function Schedule() {
  const [year, setYear] = useState<number>();
  const { value: view, problem, refresh } = useResource(() => get<ScheduleView>(`/hotpatch/schedule${year === undefined ? "" : `?year=${year}`}`), [year]);
  useServerEvents((e) => (e.type === "installation" || e.type === "removal") && refresh(), [refresh]);
  if (view === undefined) return <Pending problem={problem} />;
  const vms = [...new Set(view.installs.map((i) => i.vm))].sort();
  return (
    <section>
      <h1>
        Schedule {view.year}{" "}
        <button type="button" aria-label="Previous year" onClick={() => setYear(view.year - 1)}>
          ‹
        </button>{" "}
        <button type="button" aria-label="Next year" onClick={() => setYear(view.year + 1)}>
          ›
        </button>
      </h1>
      <img class="calendar" alt={`Hotpatch release calendar ${view.year}`} src={`/hotpatch/schedule.svg?year=${view.year}`} />
      <table class="grid" data-testid="schedule">
        <thead>
          <tr>
            <th>VM</th>
            {view.releases.map((r) => (
              <th title={`${r.kb} ${r.type}, released ${r.releaseDate}`}>
                {r.month.slice(5)} {r.type === "baseline" ? "B" : "H"}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {vms.map((vm) => (
            <tr key={vm}>
              <td>{vm}</td>
              {view.releases.map((r) => (
                <td>
                  {view.installs
                    .filter((i) => i.vm === vm && i.month === r.month)
                    .map((i) => (
                      <div title={`${i.kind}, ${i.trigger}, ${i.at}`}>
                        {i.kb} <span class="hint">{i.at.slice(5, 10)}</span>
                      </div>
                    ))}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {vms.length === 0 && <p>No VM installed anything in {view.year}.</p>}
    </section>
  );
}
