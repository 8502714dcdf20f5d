import { Link } from 'wouter-preact';

/** Tabs: links, so each tab has its own address. */
export function Tabs({ tabs, current, label }: { tabs: { id: string; label: string; href: string }[]; current: string; label: string }) {
  return (
    <nav class="tabs" aria-label={label}>
      {tabs.map((t) => (
        <Link key={t.id} href={t.href} class={t.id === current ? 'tab active' : 'tab'} aria-current={t.id === current ? 'page' : undefined}>
          {t.label}
        </Link>
      ))}
    </nav>
  );
}
