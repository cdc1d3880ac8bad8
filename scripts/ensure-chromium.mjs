// Before `npm test`: the portal's test drives Debian's chromium (playwright-core
// downloads no browser). If it is missing and this runs as root on Debian, install
// it with apt-get, as .ci/run's fresh machines need; otherwise say how.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

const path = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync(path)) {
  const root = process.getuid?.() === 0;
  if (!root || !existsSync("/usr/bin/apt-get")) {
    console.error(`chromium is missing at ${path}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
    process.exit(1);
  }
  console.error("installing chromium for the portal's browser test (apt-get install chromium)…");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "chromium"], { stdio: "inherit", env });
}
