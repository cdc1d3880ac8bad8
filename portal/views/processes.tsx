/**
 * A VM's Processes, the live part: every second the processes endpoint is
 * read; two uPlot charts show the request rate and the p50/p99 request
 * latency, with a marker where each hotpatch went live (its pause) and where
 * a reboot happened; each process shows its counters — they keep counting
 * through a hotpatch and start again at a reboot — and its function table:
 * slot, function, what runs there now (the image or a KB), the slot's stack.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { get } from "../api.ts";
import { useServerEvents } from "../events.ts";
import { describeError, Pending } from "../resource.tsx";
import type { ProcessesView } from "../types.ts";

const SAMPLE_MS = 1000;
const WINDOW_SAMPLES = 120;

interface Marker {
  t: number;
  label: string;
}

interface Series {
  t: number[];
  rate: number[];
  p50: number[];
  p99: number[];
}

export function Processes({ name }: { name: string }) {
  const [view, setView] = useState<ProcessesView>();
  const [problem, setProblem] = useState<string>();
  const series = useRef<Series>({ t: [], rate: [], p50: [], p99: [] });
  const markers = useRef<Marker[]>([]);
  const last = useRef<{ t: number; served: number } | undefined>(undefined);
  const [tick, setTick] = useState(0);
  /** Chart times are seconds since the view opened. */
  const origin = useRef(Date.now() / 1000);

  useEffect(() => {
    let stopped = false;
    const sample = async () => {
      const now = Date.now() / 1000 - origin.current;
      let next: ProcessesView;
      try {
        next = await get<ProcessesView>(`/hotpatch/vms/${encodeURIComponent(name)}/processes`);
      } catch (error) {
        if (!stopped) setProblem(describeError(error));
        return;
      }
      if (stopped) return;
      setView(next);
      setProblem(undefined);
      const s = series.current;
      const previous = last.current;
      if (previous !== undefined && now > previous.t) {
        s.t.push(now);
        s.rate.push(Math.max(0, (next.load.served - previous.served) / (now - previous.t)));
        s.p50.push(Math.max(0, ...next.processes.map((p) => p.latencyMicros.p50)));
        s.p99.push(Math.max(0, ...next.processes.map((p) => p.latencyMicros.p99)));
        if (s.t.length > WINDOW_SAMPLES) for (const key of ["t", "rate", "p50", "p99"] as const) s[key].shift();
      }
      last.current = { t: now, served: next.load.served };
      setTick((n) => n + 1);
    };
    // The next sample is asked for a second after the last one answered: reads never pile up behind a slow one.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const loop = async () => {
      await sample();
      if (!stopped) timer = setTimeout(loop, SAMPLE_MS);
    };
    void loop();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [name]);

  useServerEvents(
    (e) => {
      if (e.vm !== name) return;
      const t = Date.now() / 1000 - origin.current;
      if (e.type === "hotpatch.applied") markers.current.push({ t, label: `${e.data.kbId} live, pause ${e.data.pauseMicros} µs` });
      else if (e.type === "hotpatch.reverted") markers.current.push({ t, label: `${e.data.kbId} reverted, pause ${e.data.pauseMicros} µs` });
      else if (e.type === "vm.rebooted") markers.current.push({ t, label: `reboot, ${e.data.downtimeMillis} ms down` });
      else if (e.type === "vm.crashed") markers.current.push({ t, label: "crashed" });
    },
    [name],
  );

  if (view === undefined) return <Pending problem={problem} />;
  return (
    <div class="processes">
      <p data-testid="load">
        {view.running ? "Running" : "Not running"}
        {view.error && ` — ${view.error}`}: {view.load.served} load requests served ({view.load.failed} failed), {view.load.requestsPerRound} per process every {view.load.intervalMillis} ms.
      </p>
      <div class="charts">
        <Chart title="Requests per second" series={series.current} markers={markers.current} tick={tick} lines={[["rate", "req/s", "#0f6cbd"]]} />
        <Chart
          title="Request latency (µs)"
          series={series.current}
          markers={markers.current}
          tick={tick}
          lines={[
            ["p50", "p50", "#107c10"],
            ["p99", "p99", "#c50f1f"],
          ]}
        />
      </div>
      <ul class="markers" data-testid="markers">
        {markers.current.map((m) => (
          <li key={m.t + m.label}>
            at {m.t.toFixed(1)} s: {m.label}
          </li>
        ))}
      </ul>
      {view.processes.map((p) => (
        <div class="card" key={p.index} data-testid={`process-${p.index}`}>
          <h2>
            Process {p.index} <span class="hint">boot {p.boot} · build {p.buildId}</span>
          </h2>
          <p>
            <strong data-testid="requests">{p.requests}</strong> requests, <strong>{p.keys}</strong> keys · latency p50 {p.latencyMicros.p50} µs, p99 {p.latencyMicros.p99} µs · patches:{" "}
            {p.patches.map((x) => x.id).join(", ") || "none"}
          </p>
          <table class="grid slots">
            <thead>
              <tr>
                <th>Slot</th>
                <th>Function</th>
                <th>Runs</th>
                <th>Stack</th>
              </tr>
            </thead>
            <tbody>
              {p.slots.map((s) => (
                <tr key={s.slot} class={s.runs === "image" ? "" : "patched"}>
                  <td>{s.slot}</td>
                  <td>{s.function}</td>
                  <td>{s.runs}</td>
                  <td>{s.stack.join(" → ")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </div>
  );
}

function Chart({ title, series, markers, tick, lines }: { title: string; series: Series; markers: Marker[]; tick: number; lines: [keyof Series, string, string][] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const markersRef = useRef(markers);
  markersRef.current = markers;
  useEffect(() => {
    const drawMarkers = (u: uPlot) => {
      const { ctx, bbox } = u;
      ctx.save();
      ctx.strokeStyle = "#8a3ffc";
      ctx.setLineDash([4, 3]);
      for (const m of markersRef.current) {
        const x = u.valToPos(m.t, "x", true);
        if (x < bbox.left || x > bbox.left + bbox.width) continue;
        ctx.beginPath();
        ctx.moveTo(x, bbox.top);
        ctx.lineTo(x, bbox.top + bbox.height);
        ctx.stroke();
      }
      ctx.restore();
    };
    plot.current = new uPlot(
      {
        title,
        width: 520,
        height: 220,
        scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] } },
        axes: [{ label: "seconds since this view opened" }, {}],
        series: [{ label: "s" }, ...lines.map(([, label, stroke]) => ({ label, stroke, width: 2 }))],
        hooks: { draw: [drawMarkers] },
      },
      [[], ...lines.map(() => [])],
      box.current!,
    );
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => {
    plot.current?.setData([series.t, ...lines.map(([key]) => series[key])] as uPlot.AlignedData);
  }, [tick]);
  return <div class="chart" ref={box} />;
}
