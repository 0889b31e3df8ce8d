/**
 * The watchdog of a DynamoDB Local engine started by this process: a small
 * `node -e` process that kills the engine when this process dies.
 *
 * @internal
 */
import * as ChildProcess from "node:child_process"

/**
 * A `node -e` watchdog that kills the engine when this process dies: it holds
 * the read end of a pipe from this process and acts on EOF. It exits by itself
 * when the engine is gone.
 */
const WATCHDOG = `
const pid = Number(process.argv[1]);
const alive = () => { try { process.kill(pid, 0); return true } catch (e) { return e.code === "EPERM" } };
let stopping = false;
const stop = () => {
  if (stopping) return; stopping = true;
  if (!alive()) process.exit(0);
  try { process.kill(pid, "SIGTERM") } catch {}
  const since = Date.now();
  setInterval(() => {
    if (!alive()) process.exit(0);
    if (Date.now() - since > 5000) { try { process.kill(pid, "SIGKILL") } catch {} process.exit(0) }
  }, 100);
};
process.stdin.on("end", stop); process.stdin.on("close", stop); process.stdin.on("error", stop);
process.stdin.resume();
setInterval(() => { if (!alive()) process.exit(0) }, 2000);
`

/**
 * Starts the watchdog of the engine `pid`; undefined when it could not be
 * spawned (best effort).
 *
 * @internal
 */
export const startWatchdog = (pid: number): ChildProcess.ChildProcess | undefined => {
  try {
    const watchdog = ChildProcess.spawn(process.execPath, ["-e", WATCHDOG, String(pid)], {
      stdio: ["pipe", "ignore", "ignore"],
      windowsHide: true
    })
    watchdog.on("error", () => {
      // best effort: the `exit` handler still covers an orderly exit
    })
    return watchdog
  } catch {
    return undefined
  }
}
