/** The emulated clock, and buttons that advance it (assessments and automatic installs run meanwhile, as `hotpatch clock advance`). */
import { useEffect, useState } from "preact/hooks";
import { ApiError, call, get } from "../api.ts";
import { useServerEvents } from "../events.ts";
import { when } from "../format.ts";

const STEPS = [
  ["+1 day", "P1D"],
  ["+1 week", "P7D"],
  ["+1 month", "P30D"], // durations have a fixed length: a month is 30 days here
] as const;

export function Clock() {
  const [clock, setClock] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const refresh = () => get<{ clock: string }>("/hotpatch/clock").then((c) => setClock(c.clock));
  useEffect(() => {
    void refresh();
  }, []);
  // A clock advance says where it moved to; a fleet rollout moves the clock from window to window, its events carry the instant.
  useServerEvents((e) => (e.type === "clock" ? setClock(e.data.to as string) : e.type.startsWith("fleet.") && setClock(e.at)), []);
  const advance = async (duration: string) => {
    setBusy(true);
    setProblem(undefined);
    try {
      const report = await call<{ to: string }>("POST", "/hotpatch/clock/advance", { duration });
      setClock(report.body.to);
    } catch (error) {
      setProblem(error instanceof ApiError ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="clock">
      <span>
        Emulated time <strong data-testid="clock">{when(clock)}</strong>
      </span>
      {STEPS.map(([label, duration]) => (
        <button type="button" disabled={busy} onClick={() => advance(duration)}>
          {label}
        </button>
      ))}
      {problem && <span role="alert">{problem}</span>}
    </div>
  );
}
