export function Labels({ labels, skip = [] }: { labels: Record<string, string>; skip?: string[] }) {
  return (
    <div class="labels">
      {Object.keys(labels)
        .filter((k) => !skip.includes(k))
        .sort()
        .map((k) => (
          <span key={k} class="label">
            {k}={labels[k]}
          </span>
        ))}
    </div>
  );
}
