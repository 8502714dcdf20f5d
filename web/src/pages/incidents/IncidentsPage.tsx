// Incidents: waits for its API (see docs/ui.md); until then it says so.
import { Empty } from '../../components/Status';

export default function IncidentsPage() {
  return (
    <div class="page">
      <h1>Incidents</h1>
      <Empty title="Not available in this build">
        <p>This page appears when Vigil's Incidents API is part of the binary.</p>
      </Empty>
    </div>
  );
}
