/**
 * Stopping a child process by PID (never by name): SIGTERM, then, if it has
 * not exited within the grace period, SIGKILL — to its whole process group
 * when it leads one (a forking daemon such as Kamailio) — and a short bounded
 * wait for the exit. A process that is already gone is not an error.
 */
import type { ChildProcess } from 'node:child_process';

function signal(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch {
    /* gone */
  }
}

/**
 * @param exited settles when the child has exited
 * @param group SIGKILL the process group (`-pid`) instead of the process
 */
export async function terminate(pid: number, exited: Promise<unknown>, graceMs: number, group: boolean): Promise<void> {
  signal(pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs)))]);
  clearTimeout(timer);
  if (!timedOut) return;
  signal(group ? -pid : pid, 'SIGKILL');
  await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, 2000)))]);
  clearTimeout(timer);
}

/**
 * Resolves when `child` exits (or could not be spawned: code and signal null); SIGKILLs it if it is still
 * running after `deadlineMs`, so a hung tool can never hang its caller.
 */
export function exitWithin(child: ChildProcess, deadlineMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const killer = setTimeout(() => {
      if (child.pid !== undefined) signal(child.pid, 'SIGKILL');
    }, deadlineMs);
    child.once('exit', (code, sig) => {
      clearTimeout(killer);
      resolve({ code, signal: sig });
    });
    child.once('error', () => {
      clearTimeout(killer);
      resolve({ code: null, signal: null });
    });
  });
}
