// The page's first drawing of its data. Chart, the waterfall and the log
// list call drawn() in the frame after they drew; the benchmark (bench/ui)
// reads the marks, and the query editors wait for their page's first one
// before loading CodeMirror, whose ~150 KB would otherwise be compiled on
// the main thread just when the page's first answer arrives.
export type Drawing = 'chart' | 'waterfall' | 'logs';

const first = new Map<Drawing, { p: Promise<void>; resolve: () => void }>();
function entry(what: Drawing) {
  let e = first.get(what);
  if (!e) {
    let resolve: () => void = () => {};
    const p = new Promise<void>((r) => (resolve = r));
    e = { p, resolve };
    first.set(what, e);
  }
  return e;
}

/** firstDrawn resolves when a page first drew a `what` (at once if one was drawn before). */
export function firstDrawn(what: Drawing): Promise<void> {
  return entry(what).p;
}

/** drawn marks `vigil:<what>-drawn` in the next frame and resolves firstDrawn(what). */
export function drawn(what: Drawing) {
  requestAnimationFrame(() => {
    performance.mark(`vigil:${what}-drawn`);
    entry(what).resolve();
  });
}
