/**
 * The portal's browser code (portal/ at the repository's root: Preact views,
 * uPlot charts) bundled by esbuild when the server first serves it, kept in
 * memory for the server's life. No CDN and no network: everything comes from
 * node_modules; the same sources give the same bytes (no timestamps, no
 * source maps with paths).
 */
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ENTRY = fileURLToPath(new URL("../../portal/main.tsx", import.meta.url));

export interface PortalBundle {
  js: string;
  css: string;
}

let bundle: Promise<PortalBundle> | undefined;

/** The bundle, built once per process. */
export function portalBundle(): Promise<PortalBundle> {
  bundle ??= buildPortalBundle().catch((error) => {
    bundle = undefined; // a failed build is tried again on the next request
    throw error;
  });
  return bundle;
}

/** A fresh build (portalBundle keeps one; tests build twice to compare). */
export async function buildPortalBundle(): Promise<PortalBundle> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    outdir: "out",
    format: "esm",
    target: "es2022",
    minify: true,
    legalComments: "none",
    jsx: "automatic",
    jsxImportSource: "preact",
    logLevel: "silent",
  });
  const text = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? "";
  return { js: text(".js"), css: text(".css") };
}
