/**
 * The fast tier, `npm run test:fast`: the test files that need no
 * AssemblyScript build, no worker thread and no child process, in well under
 * a minute on a 2-core machine. `npm test` (vitest.config.ts) still runs all.
 *
 * The rule keeps itself true. A test file is in the fast tier unless it is
 * listed in SLOW_TESTS, and test/fast-tier-guard.ts fails any file of this
 * tier at its first AssemblyScript compile, worker thread or child process,
 * saying to list it here. So: a new test that builds a guest (an image, a
 * patch, asc output), runs one in a worker, or starts bin/hotpatch.mjs goes
 * into SLOW_TESTS; every other test stays out of it. (Measured in a full run,
 * each file listed took a second or more; each file left, under one.)
 */
import { configDefaults, defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.ts";

const SLOW_TESTS = [
  "test/arm-api-manages-maintenance-configurations-with-the-azure-sdk.test.ts",
  "test/arm-api-runs-assess-and-install-as-long-running-operations.test.ts",
  "test/arm-api-manages-availability-sets-with-the-azure-sdk.test.ts",
  "test/arm-api-manages-flexible-scale-sets-with-the-azure-sdk.test.ts",
  "test/fleet-rollouts-run-through-hotpatch-serve.test.ts",
  "test/vm-pool-stages-each-package-once.test.ts",
  "test/portal-runs-fleet-rollouts-in-chromium.test.ts",
  "test/portal-shows-maintenance-runs-in-chromium.test.ts",
  "test/arm-api-manages-virtual-machines-with-the-azure-sdk.test.ts",
  "test/arm-api-manages-arc-machines-and-license-profiles.test.ts",
  "test/arc-enabled-servers-install-hotpatches-live-and-on-schedules.test.ts",
  "test/windows-server-2025-vms-run-through-simulate-and-the-api.test.ts",
  "test/automatic-patching-follows-patch-mode-and-policy-source.test.ts",
  "test/automatic-patching-installs-critical-and-security-off-peak.test.ts",
  "test/bench-quick-reports-well-formed-targets.test.ts",
  "test/build-cache-gives-the-bytes-of-a-fresh-build.test.ts",
  "test/builds-are-reproducible.test.ts",
  "test/changes-a-running-process-cannot-take-require-a-baseline.test.ts",
  "test/cli-builds-signs-applies-and-runs-scenarios.test.ts",
  "test/corpus-hotpatches-answer-like-fresh-targets.test.ts",
  "test/corpus-refusals-name-their-reason.test.ts",
  "test/migrations-make-state-changes-hotpatches.test.ts",
  "test/crashed-process-restarts-with-its-patches.test.ts",
  "test/cumulative-hotpatches-supersede-in-one-swap.test.ts",
  "test/emulator-endpoints-serve-the-catalog-and-remove-updates.test.ts",
  "test/experiments-detect-and-recover-from-every-fault.test.ts",
  "test/fault-points-fail-on-plan-and-refusals-change-nothing.test.ts",
  "test/fleet-rollouts-halt-on-an-unhealthy-batch.test.ts",
  "test/fleet-simulation-compares-hotpatch-with-reboots.test.ts",
  "test/fuzzed-packages-are-refused-cleanly-or-applied-completely.test.ts",
  "test/fuzzed-request-bodies-never-crash-the-server.test.ts",
  "test/health-check-records-defective-releases.test.ts",
  "test/hotpatched-v1-answers-like-a-fresh-v2.test.ts",
  "test/images-from-plain-wasm-keep-every-address.test.ts",
  "test/inline-mode-host-entries-follow-the-redirect-flag.test.ts",
  "test/inline-mode-images-call-library-code-directly.test.ts",
  "test/inline-mode-images-patch-every-changed-caller.test.ts",
  "test/install-applies-real-hotpatches-and-reboots-for-baselines.test.ts",
  "test/live-process-survives-1000-patch-cycles-under-load.test.ts",
  "test/module-summary-matches-assemblyscript-output.test.ts",
  "test/new-functions-take-spare-slots-until-none-are-left.test.ts",
  "test/patch-apply-and-revert-preserve-process-state.test.ts",
  "test/patch-callbacks-run-in-livepatch-order-and-may-veto.test.ts",
  "test/patch-states-may-only-be-taken-over-never-lowered.test.ts",
  "test/patch-static-data-is-placed-freed-and-disjoint.test.ts",
  "test/refused-patches-leave-the-process-unchanged.test.ts",
  "test/serve-holds-its-state-and-stops-gracefully.test.ts",
  "test/portal-bundle-is-reproducible.test.ts",
  "test/portal-narrates-the-demo-in-chromium.test.ts",
  "test/portal-shows-and-patches-vms-live-in-chromium.test.ts",
  "test/sdk-example-runs-against-the-server.test.ts",
  "test/serve-answers-200-concurrent-operations-consistently.test.ts",
  "test/serve-killed-mid-install-recovers-on-restart.test.ts",
  "test/vm-pool-worker-crash-boots-its-vms-again.test.ts",
  "test/worker-stop-is-no-crash-while-the-control-thread-is-busy.test.ts",
  "test/simulate-measures-hotpatch-against-a-rebooting-vm.test.ts",
  "test/shadow-variables-attach-data-to-live-objects.test.ts",
  "test/shadow-variable-library-finds-allocates-and-frees-by-object-and-id.test.ts",
  "test/maintenance-configurations-patch-on-their-schedule.test.ts",
  "test/schedule-config-cli-runs-a-weekly-schedule.test.ts",
  "test/simulate-compares-a-schedule-with-automatic-patching.test.ts",
  "test/slot-swap-is-all-or-nothing.test.ts",
  "test/stacked-patches-revert-in-reverse-order.test.ts",
  "test/stress-command-prints-the-run-as-json.test.ts",
  "test/switches-acknowledged-before-a-crash-count-as-applied.test.ts",
  "test/transition-follows-the-stall-policy-on-an-injected-clock.test.ts",
  "test/transitions-wait-until-patched-functions-leave-the-stack.test.ts",
  "test/trapping-request-crashes-and-restarts-the-process.test.ts",
  "test/worker-steps-report-transitions-in-order-even-when-overloaded.test.ts",
];

export default mergeConfig(base, defineConfig({ test: { exclude: [...configDefaults.exclude, ...SLOW_TESTS], setupFiles: ["test/fast-tier-guard.ts"] } }));
