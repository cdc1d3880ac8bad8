/** Get-HotFix's listing of the VM: what Windows reports as installed. */
import { get } from "../api.ts";
import { useServerEvents } from "../events.ts";
import { Pending, useResource } from "../resource.tsx";

interface HotFixRow {
  Source: string;
  Description: string;
  HotFixID: string;
  InstalledBy: string;
  InstalledOn: string;
}

export function Hotfixes({ name }: { name: string }) {
  const { value: rows, problem, refresh } = useResource(() => get<HotFixRow[]>(`/hotpatch/vms/${encodeURIComponent(name)}/hotfixes`), [name]);
  useServerEvents((e) => e.vm === name && (e.type === "installation" || e.type === "removal") && refresh(), [name, refresh]);
  if (rows === undefined) return <Pending problem={problem} />;
  return (
    <table class="grid" data-testid="hotfixes">
      <thead>
        <tr>
          <th>Source</th>
          <th>Description</th>
          <th>HotFixID</th>
          <th>InstalledBy</th>
          <th>InstalledOn</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.HotFixID}>
            <td>{r.Source}</td>
            <td>{r.Description}</td>
            <td>{r.HotFixID}</td>
            <td>{r.InstalledBy}</td>
            <td>{r.InstalledOn}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
