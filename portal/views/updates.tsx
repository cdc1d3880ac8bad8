/**
 * A VM's Updates view: hotpatch status (and why it is disabled), the
 * recommended updates of the last assessment (KB, title, classification,
 * hotpatch or reboot), Assess now, Install updates now (the dialog), the
 * other classifications (update compliance) and the last installation.
 */
import { useState } from "preact/hooks";
import { API_VERSION, get, longRunning, vmPath } from "../api.ts";
import { useServerEvents } from "../events.ts";
import { isHotpatch, plural, when } from "../format.ts";
import { describeError, Pending, Stale, useResource } from "../resource.tsx";
import type { AvailablePatch, VmUpdates } from "../types.ts";
import { InstallDialog, type InstallChoice } from "./install-dialog.tsx";

export function Updates({ group, name }: { group: string; name: string }) {
  const [busy, setBusy] = useState<string>();
  const [message, setMessage] = useState<{ ok: boolean; text: string }>();
  const [dialog, setDialog] = useState(false);
  const { value: status, problem, refresh } = useResource(() => get<VmUpdates>(`/hotpatch/vms/${encodeURIComponent(name)}/updates`), [name]);
  useServerEvents((e) => e.vm === name && ["assessment", "installation", "removal"].includes(e.type) && refresh(), [name, refresh]);

  const run = async (what: string, action: () => Promise<string>) => {
    setBusy(what);
    setMessage(undefined);
    try {
      setMessage({ ok: true, text: await action() });
    } catch (error) {
      setMessage({ ok: false, text: describeError(error) });
    } finally {
      setBusy(undefined);
      refresh();
    }
  };
  const assess = () =>
    run("assess", async () => {
      const result = await longRunning<{ status: string; criticalAndSecurityPatchCount: number; otherPatchCount: number }>(`${vmPath(group, name)}/assessPatches?${API_VERSION}`);
      return `Assessment ${result.status}: ${result.criticalAndSecurityPatchCount} critical and security, ${result.otherPatchCount} other.`;
    });
  const install = (choice: InstallChoice) => {
    setDialog(false);
    void run("install", async () => {
      const result = await longRunning<{ status: string; installedPatchCount: number; failedPatchCount: number; rebootStatus: string }>(
        `${vmPath(group, name)}/installPatches?${API_VERSION}`,
        choice,
      );
      return `Installation ${result.status}: ${plural(result.installedPatchCount, "update")} installed, ${result.failedPatchCount} failed, reboot ${result.rebootStatus}.`;
    });
  };

  if (status === undefined) return <Pending problem={problem} />;
  const summary = status.availablePatchSummary;
  return (
    <div class="updates">
      <Stale problem={problem} />
      <div class="facts">
        <div>
          <span class="label">Hotpatch</span>
          <strong data-testid="hotpatch-status">{status.hotpatchStatus}</strong>
          {status.hotpatchDisabledBecause.length > 0 && <span class="hint"> — {status.hotpatchDisabledBecause.join("; ")}</span>}
        </div>
        <div>
          <span class="label">OS build</span> {status.osBuild}
        </div>
        <div>
          <span class="label">Baseline</span> {status.baseline || "—"}
        </div>
        <div>
          <span class="label">Patch mode</span> {status.vm.patchMode ?? "—"} (off-peak {status.vm.window}, {status.vm.timeZone})
        </div>
        <div>
          <span class="label">Last assessment</span> <span data-testid="last-assessment">{when(summary.lastAssessmentTime)}</span>
        </div>
      </div>
      <div class="actions">
        <button type="button" disabled={busy !== undefined} onClick={assess}>
          {busy === "assess" ? "Assessing…" : "Assess now"}
        </button>
        <button type="button" disabled={busy !== undefined} onClick={() => setDialog(true)}>
          {busy === "install" ? "Installing…" : "Install updates now"}
        </button>
      </div>
      {message && (
        <p class={message.ok ? "ok" : "problem"} role={message.ok ? "status" : "alert"}>
          {message.text}
        </p>
      )}
      <h2>Recommended updates ({status.pending.length})</h2>
      <PatchTable patches={status.pending} testId="recommended" />
      {status.installedSinceAssessment.length > 0 && <p class="hint">Installed since the last assessment: {status.installedSinceAssessment.join(", ")}.</p>}
      <h2>Update compliance: other classifications ({status.compliance.length})</h2>
      <PatchTable patches={status.compliance} testId="compliance" />
      <h2>Last installation</h2>
      {status.lastPatchInstallationSummary === null ? (
        <p>None yet.</p>
      ) : (
        <p data-testid="last-installation">
          {status.lastPatchInstallationSummary.status}: {plural(status.lastPatchInstallationSummary.installedPatchCount, "update")} installed,{" "}
          {status.lastPatchInstallationSummary.failedPatchCount} failed, reboot {status.lastPatchInstallationSummary.rebootStatus}, started{" "}
          {when(status.lastPatchInstallationSummary.startDateTime)}
        </p>
      )}
      {dialog && <InstallDialog available={[...status.pending, ...status.compliance]} onInstall={install} onCancel={() => setDialog(false)} />}
    </div>
  );
}

function PatchTable({ patches, testId }: { patches: AvailablePatch[]; testId: string }) {
  if (patches.length === 0) return <p>None.</p>;
  return (
    <table class="grid" data-testid={testId}>
      <thead>
        <tr>
          <th>KB</th>
          <th>Title</th>
          <th>Classification</th>
          <th>Install</th>
          <th>Published</th>
        </tr>
      </thead>
      <tbody>
        {patches.map((p) => (
          <tr key={p.kbId}>
            <td>{p.kbId}</td>
            <td>{p.name}</td>
            <td>{p.classifications.join(", ")}</td>
            <td>{isHotpatch(p) ? "Hotpatch (no reboot)" : "Requires reboot"}</td>
            <td>{when(p.publishedDate)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
