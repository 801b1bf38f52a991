// Timers for any planned duration: setTimeout takes at most 2^31-1 ms (~24.8 days) and fires at once
// beyond it, so a 7-day plan would "time out" immediately. Long delays are chained in safe steps.

/** Largest delay one setTimeout honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `fn` after `ms` milliseconds, however long; `clear()` cancels. Non-finite `ms` never fires. */
export function longTimeout(fn: () => void, ms: number): { clear(): void } {
  let handle: ReturnType<typeof setTimeout> | undefined;
  let cleared = false;
  if (!Number.isFinite(ms)) return { clear() {} };
  const due = Date.now() + Math.max(0, ms);
  const arm = () => {
    if (cleared) return;
    const left = due - Date.now();
    if (left <= 0) return fn();
    handle = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
  };
  handle = setTimeout(arm, Math.min(Math.max(0, ms), MAX_TIMER_MS));
  return {
    clear() {
      cleared = true;
      clearTimeout(handle);
    },
  };
}
