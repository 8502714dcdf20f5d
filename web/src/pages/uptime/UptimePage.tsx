// Uptime: waits for its API (see docs/ui.md); until then it says so.
import { Empty } from '../../components/Status';

export default function UptimePage() {
  return (
    <div class="page">
      <h1>Uptime</h1>
      <Empty title="Not available in this build">
        <p>This page appears when Vigil's Uptime API is part of the binary.</p>
      </Empty>
    </div>
  );
}
