// A list that renders only the rows in view: the waterfall of a
// 10,000-span trace and 10,000 log lines stay smooth. Rows have one fixed
// height, so the window is arithmetic (no measuring, no layout thrash).
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

export function VirtualList({
  count,
  rowHeight,
  height,
  render,
  overscan = 8,
  label,
  scrollToIndex,
  class: cls,
}: {
  count: number;
  rowHeight: number;
  height: number | string;
  render: (i: number) => ComponentChildren;
  overscan?: number;
  label: string;
  scrollToIndex?: number;
  class?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [view, setView] = useState(600);
  const frame = useRef(0);
  useEffect(() => () => cancelAnimationFrame(frame.current), []);
  useEffect(() => {
    const el = ref.current!;
    const ro = new ResizeObserver(() => setView(el.clientHeight));
    ro.observe(el);
    setView(el.clientHeight);
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    if (scrollToIndex === undefined || !ref.current) return;
    const el = ref.current;
    const y = scrollToIndex * rowHeight;
    if (y < el.scrollTop || y + rowHeight > el.scrollTop + el.clientHeight) el.scrollTop = y - el.clientHeight / 3;
  }, [scrollToIndex]);
  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((top + view) / rowHeight) + overscan);
  const rows = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div key={i} class="vrow" style={{ top: i * rowHeight, height: rowHeight }}>
        {render(i)}
      </div>,
    );
  }
  return (
    <div
      ref={ref}
      class={`vlist ${cls ?? ''}`}
      style={{ height }}
      onScroll={(e) => {
        // One render per frame however many scroll events arrive.
        const el = e.currentTarget as HTMLDivElement;
        if (frame.current) return;
        frame.current = requestAnimationFrame(() => {
          frame.current = 0;
          setTop(el.scrollTop);
        });
      }}
      role="region"
      aria-label={label}
      tabIndex={0}
    >
      <div style={{ height: count * rowHeight, position: 'relative' }}>{rows}</div>
    </div>
  );
}
