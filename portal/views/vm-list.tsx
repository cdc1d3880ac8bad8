/**
 * The virtual machines: one row each (name, image, OS build, hotpatch status,
 * patch mode, last assessment, pending counts), and a form that creates one
 * through the ARM API, showing the API's own validation messages.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { API_VERSION, ApiError, call, get, groupOf, SUBSCRIPTION, vmPath } from "../api.ts";
import { useServerEvents } from "../events.ts";
import { Pending, Stale, useResource } from "../resource.tsx";
import { when } from "../format.ts";
import type { ArmVm, ImageChoice, InstanceView } from "../types.ts";

interface Row {
  vm: ArmVm;
  view?: InstanceView;
}

async function loadRows(): Promise<Row[]> {
  const list = await get<{ value: ArmVm[] }>(`/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Compute/virtualMachines?${API_VERSION}`);
  const vms = list.value.sort((a, b) => a.name.localeCompare(b.name));
  return Promise.all(vms.map(async (vm) => ({ vm, view: await get<InstanceView>(`${vmPath(groupOf(vm.id), vm.name)}/instanceView?${API_VERSION}`).catch(() => undefined) })));
}

export function VmList() {
  const { value: rows, problem, refresh } = useResource(loadRows, []);
  // A clock advance brings hundreds of events: reload once they pause, not once each (1 + N requests a load).
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useServerEvents(
    (e) => {
      if (!["assessment", "installation", "removal", "vm.booted", "clock"].includes(e.type)) return;
      clearTimeout(pending.current);
      pending.current = setTimeout(refresh, 300);
    },
    [refresh],
  );
  useEffect(() => () => clearTimeout(pending.current), []);
  return (
    <section>
      <h1>Virtual machines</h1>
      {rows !== undefined && <Stale problem={problem} />}
      <table class="grid" data-testid="vm-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Image</th>
            <th>OS build</th>
            <th>Hotpatch</th>
            <th>Patch mode</th>
            <th>Last assessment</th>
            <th>Critical and security</th>
            <th>Other</th>
          </tr>
        </thead>
        <tbody>
          {rows?.map(({ vm, view }) => {
            const summary = view?.patchStatus?.availablePatchSummary;
            const settings = vm.properties.osProfile.windowsConfiguration.patchSettings;
            return (
              <tr key={vm.id}>
                <td>
                  <a href={`#/vms/${encodeURIComponent(groupOf(vm.id))}/${encodeURIComponent(vm.name)}/updates`}>{vm.name}</a>
                </td>
                <td>{vm.properties.storageProfile.imageReference.sku}</td>
                <td>{view?.osVersion ?? vm.properties.storageProfile.imageReference.exactVersion}</td>
                <td>{settings.enableHotpatching ? "Enabled" : "Disabled"}</td>
                <td>{settings.patchMode ?? "—"}</td>
                <td>{summary?.status === "Unknown" ? "never" : when(summary?.lastModifiedTime)}</td>
                <td>{summary?.criticalAndSecurityPatchCount ?? 0}</td>
                <td>{summary?.otherPatchCount ?? 0}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {rows === undefined && <Pending problem={problem} />}
      {rows?.length === 0 && <p>No virtual machines yet: create one below.</p>}
      <CreateVm onCreated={refresh} />
    </section>
  );
}

function CreateVm({ onCreated }: { onCreated: () => void }) {
  const [images, setImages] = useState<ImageChoice[]>([]);
  const [name, setName] = useState("");
  const [group, setGroup] = useState("hotpatch");
  const [image, setImage] = useState("");
  const [hotpatch, setHotpatch] = useState(true);
  const [patchMode, setPatchMode] = useState("AutomaticByPlatform");
  const [problem, setProblem] = useState<string>();
  const [created, setCreated] = useState<string>();
  useEffect(() => {
    void get<ImageChoice[]>("/hotpatch/images").then((list) => {
      setImages(list);
      setImage(list[0]?.image ?? "");
    });
  }, []);
  const chosen = images.find((i) => i.image === image);
  const submit = async (event: Event) => {
    event.preventDefault();
    setProblem(undefined);
    setCreated(undefined);
    const [publisher, offer, sku, version] = image.split(":");
    try {
      await call("PUT", `/subscriptions/${SUBSCRIPTION}/resourcegroups/${encodeURIComponent(group)}?api-version=2024-11-01`, { location: "eastus" });
      await call("PUT", `${vmPath(group, name)}?${API_VERSION}`, {
        location: "eastus",
        properties: {
          storageProfile: { imageReference: { publisher, offer, sku, version } },
          osProfile: { computerName: name.slice(0, 15), windowsConfiguration: { provisionVMAgent: true, patchSettings: { patchMode, enableHotpatching: hotpatch } } },
        },
      });
      setCreated(name);
      setName("");
      onCreated();
    } catch (error) {
      setProblem(error instanceof ApiError ? `${error.code}: ${error.message}` : String(error));
    }
  };
  return (
    <form class="card" onSubmit={submit} data-testid="create-vm">
      <h2>Create a virtual machine</h2>
      <label>
        Name <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Resource group <input required value={group} onInput={(e) => setGroup(e.currentTarget.value)} />
      </label>
      <label>
        Image
        <select value={image} onChange={(e) => setImage(e.currentTarget.value)}>
          {images.map((i) => (
            <option value={i.image}>
              {i.sku}
              {i.hotpatch.eligible ? " (hotpatch)" : ""}
            </option>
          ))}
        </select>
      </label>
      {chosen && !chosen.hotpatch.eligible && <p class="hint">This image cannot run hotpatch: {chosen.hotpatch.reasons.join("; ")}</p>}
      <label>
        Patch mode
        <select value={patchMode} onChange={(e) => setPatchMode(e.currentTarget.value)}>
          <option>AutomaticByPlatform</option>
          <option>AutomaticByOS</option>
          <option>Manual</option>
        </select>
      </label>
      <label class="inline">
        <input type="checkbox" checked={hotpatch} onChange={(e) => setHotpatch(e.currentTarget.checked)} /> Enable hotpatch
      </label>
      <button type="submit">Create</button>
      {problem && (
        <p class="problem" role="alert">
          {problem}
        </p>
      )}
      {created && <p class="ok">Created {created}.</p>}
    </form>
  );
}
