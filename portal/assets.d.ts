/** Stylesheets are imported for their side effect; esbuild bundles them into app.css (engine/serve/portal-bundle.ts). */
declare module "*.css";
