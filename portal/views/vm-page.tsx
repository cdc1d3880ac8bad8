/** One VM: its tabs — Updates, Update history, Processes (the live part), Get-HotFix. */
import { Hotfixes } from "./hotfixes.tsx";
import { History } from "./history.tsx";
import { Processes } from "./processes.tsx";
import { Updates } from "./updates.tsx";

const TABS = [
  ["updates", "Updates"],
  ["history", "Update history"],
  ["processes", "Processes"],
  ["hotfixes", "Get-HotFix"],
] as const;

export function VmPage({ group, name, tab }: { group: string; name: string; tab: string }) {
  const base = `#/vms/${encodeURIComponent(group)}/${encodeURIComponent(name)}`;
  return (
    <section>
      <p class="crumbs">
        <a href="#/">Virtual machines</a> › {group}
      </p>
      <h1>{name}</h1>
      <div class="tabs" role="tablist">
        {TABS.map(([id, label]) => (
          <a role="tab" aria-selected={tab === id} class={tab === id ? "current" : ""} href={`${base}/${id}`}>
            {label}
          </a>
        ))}
      </div>
      {tab === "history" ? <History name={name} /> : tab === "processes" ? <Processes name={name} /> : tab === "hotfixes" ? <Hotfixes name={name} /> : <Updates group={group} name={name} />}
    </section>
  );
}
