/**
 * The Install updates now dialog: classifications, KBs to include and to
 * exclude, maximum duration and reboot setting, as the body of ARM's
 * installPatches (VirtualMachineInstallPatchesParameters); confirmed with
 * the button named Install.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { AvailablePatch } from "../types.ts";

const CLASSIFICATIONS = ["Critical", "Security", "UpdateRollUp", "FeaturePack", "ServicePack", "Definition", "Tools", "Updates"] as const;
const DURATIONS = [
  ["PT1H", "1 hour"],
  ["PT2H", "2 hours"],
  ["PT3H55M", "3 hours 55 minutes"],
] as const;

export interface InstallChoice {
  maximumDuration: string;
  rebootSetting: string;
  windowsParameters: { classificationsToInclude: string[]; kbNumbersToInclude?: string[]; kbNumbersToExclude?: string[] };
}

const kbList = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((kb) => kb.trim())
    .filter(Boolean);

export function InstallDialog({ available, onInstall, onCancel }: { available: AvailablePatch[]; onInstall: (choice: InstallChoice) => void; onCancel: () => void }) {
  const [classes, setClasses] = useState<string[]>(["Critical", "Security"]);
  const [include, setInclude] = useState("");
  const [exclude, setExclude] = useState("");
  const [duration, setDuration] = useState("PT2H");
  const [reboot, setReboot] = useState("IfRequired");
  const box = useRef<HTMLDivElement>(null);
  // A modal dialog: focus moves into it, Escape closes it, focus goes back where it was.
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    box.current?.querySelector<HTMLElement>("input, select, button")?.focus();
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onCancel();
    addEventListener("keydown", onKey);
    return () => {
      removeEventListener("keydown", onKey);
      before?.focus();
    };
  }, []);
  const toggle = (c: string) => setClasses(classes.includes(c) ? classes.filter((x) => x !== c) : [...classes, c]);
  const submit = (event: Event) => {
    event.preventDefault();
    const included = kbList(include);
    const excluded = kbList(exclude);
    onInstall({
      maximumDuration: duration,
      rebootSetting: reboot,
      windowsParameters: { classificationsToInclude: classes, ...(included.length ? { kbNumbersToInclude: included } : {}), ...(excluded.length ? { kbNumbersToExclude: excluded } : {}) },
    });
  };
  return (
    <div class="backdrop">
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="install-title" ref={box}>
      <form onSubmit={submit}>
        <h2 id="install-title">Install updates now</h2>
        <fieldset>
          <legend>Classifications</legend>
          {CLASSIFICATIONS.map((c) => (
            <label class="inline">
              <input type="checkbox" name="classification" value={c} checked={classes.includes(c)} onChange={() => toggle(c)} /> {c}
            </label>
          ))}
        </fieldset>
        <label>
          KBs to include <input name="include" placeholder="KB5260200, …" value={include} onInput={(e) => setInclude(e.currentTarget.value)} />
        </label>
        <label>
          KBs to exclude <input name="exclude" placeholder="KB5260210, …" value={exclude} onInput={(e) => setExclude(e.currentTarget.value)} />
        </label>
        {available.length > 0 && <p class="hint">Available: {available.map((p) => p.kbId).join(", ")}</p>}
        <label>
          Maximum duration
          <select value={duration} onChange={(e) => setDuration(e.currentTarget.value)}>
            {DURATIONS.map(([value, label]) => (
              <option value={value}>{label}</option>
            ))}
          </select>
        </label>
        <label>
          Reboot
          <select value={reboot} onChange={(e) => setReboot(e.currentTarget.value)}>
            <option value="IfRequired">Reboot if required</option>
            <option value="Never">Never reboot</option>
            <option value="Always">Always reboot</option>
          </select>
        </label>
        <div class="actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Install
          </button>
        </div>
      </form>
      </div>
    </div>
  );
}
