/**
 * The teaching demo in the browser (`hotpatch demo --portal`): a button that
 * starts the story on the server, its steps as they happen (demo.step
 * events), and beside them the demo VM's live Processes view — the slot the
 * fix replaces turns to the KB and back, the request counter never resets.
 */
import { useState } from "preact/hooks";
import { call, get } from "../api.ts";
import { useServerEvents } from "../events.ts";
import { describeError, Pending, useResource } from "../resource.tsx";
import { Processes } from "./processes.tsx";

interface DemoState {
  available: boolean;
  running: boolean;
  done: boolean;
  error?: string;
  steps: { step: number; text: string }[];
}

export function Demo() {
  const { value, problem, refresh } = useResource(() => get<DemoState>("/hotpatch/demo"), []);
  const [startProblem, setStartProblem] = useState<string>();
  useServerEvents((e) => (e.type === "demo.step" || (e.type === "vm.booted" && e.vm === "demo")) && refresh(), [refresh]);
  if (value === undefined) return <Pending problem={problem} />;
  if (!value.available) return <p>This server was not started for the demo: run <code>npx hotpatch demo --portal</code>.</p>;
  const start = async () => {
    setStartProblem(undefined);
    try {
      await call("POST", "/hotpatch/demo/run");
      refresh();
    } catch (error) {
      setStartProblem(describeError(error));
    }
  };
  const booted = value.steps.length > 1;
  return (
    <section class="demo">
      <h1>An exploit stopped by a live patch</h1>
      <p class="hint">
        A key-value service with a heartbeat over-read (a Heartbleed) runs as VM <code>demo</code>, serving requests all along. Its security fix goes in as a hotpatch, live, and
        comes out again.
      </p>
      <button type="button" class="primary" disabled={value.running} onClick={start}>
        {value.running ? "The demo is running…" : value.done ? "Run the demo again" : "Start the demo"}
      </button>
      {startProblem && (
        <p class="problem" role="alert">
          {startProblem}
        </p>
      )}
      <ol class="story" data-testid="story" aria-live="polite">
        {value.steps.map((s) => (
          <li key={s.step}>{s.text}</li>
        ))}
      </ol>
      {value.error && (
        <p class="problem" role="alert">
          {value.error}
        </p>
      )}
      {booted && <Processes name="demo" />}
    </section>
  );
}
