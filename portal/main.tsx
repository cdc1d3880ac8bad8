/**
 * The portal: a hash-routed single page (Preact). Routes:
 *   #/                       the virtual machines (views/vm-list.tsx)
 *   #/vms/{group}/{vm}/{tab} a VM: updates, history, processes, hotfixes (views/vm-page.tsx)
 *   #/schedule               the year's calendar and what each VM installed (views/schedule.tsx)
 *   #/fleet                  the fleet, its rollouts and their progress (views/fleet.tsx)
 *   #/maintenance            customer-managed schedules: configurations, next windows, runs (views/maintenance.tsx)
 *   #/demo                   the teaching demo, on a server started with `hotpatch demo --portal` (views/demo.tsx)
 * The clock (views/clock.tsx) sits in the header of every page.
 */
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { get } from "./api.ts";
import { useStreamClosed } from "./events.ts";
import { Clock } from "./views/clock.tsx";
import { Demo } from "./views/demo.tsx";
import { Fleet } from "./views/fleet.tsx";
import { Maintenance } from "./views/maintenance.tsx";
import { Schedule } from "./views/schedule.tsx";
import { VmList } from "./views/vm-list.tsx";
import { VmPage } from "./views/vm-page.tsx";

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return hash;
}

function Page({ hash }: { hash: string }) {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "vms" && parts.length >= 3) return <VmPage group={parts[1]} name={parts[2]} tab={parts[3] ?? "updates"} />;
  if (parts[0] === "schedule") return <Schedule />;
  if (parts[0] === "fleet") return <Fleet />;
  if (parts[0] === "maintenance") return <Maintenance />;
  if (parts[0] === "demo") return <Demo />;
  return <VmList />;
}

function App() {
  const hash = useHash();
  const section = ["schedule", "fleet", "maintenance", "demo"].find((s) => hash.startsWith(`#/${s}`)) ?? "vms";
  const [demo, setDemo] = useState(false);
  const streamClosed = useStreamClosed();
  useEffect(() => {
    get<{ available: boolean }>("/hotpatch/demo").then((d) => setDemo(d.available), () => setDemo(false));
  }, []);
  return (
    <>
      <header class="top">
        <span class="brand">wasm-hotpatch</span>
        <nav>
          <a href="#/" class={section === "vms" ? "current" : ""}>
            Virtual machines
          </a>
          <a href="#/schedule" class={section === "schedule" ? "current" : ""}>
            Schedule
          </a>
          <a href="#/fleet" class={section === "fleet" ? "current" : ""}>
            Fleet
          </a>
          <a href="#/maintenance" class={section === "maintenance" ? "current" : ""}>
            Maintenance
          </a>
          {demo && (
            <a href="#/demo" class={section === "demo" ? "current" : ""}>
              Demo
            </a>
          )}
        </nav>
        <Clock />
      </header>
      <main>
        {streamClosed && (
          <p class="problem" role="alert">
            The live connection to the server ended (was it restarted?): open the Portal URL it printed again.
          </p>
        )}
        <Page hash={hash} />
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
