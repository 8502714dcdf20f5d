// On-call: waits for its API (see docs/ui.md); until then it says so.
import { Empty } from '../../components/Status';

export default function OnCallPage() {
  return (
    <div class="page">
      <h1>On-call</h1>
      <Empty title="Not available in this build">
        <p>This page appears when Vigil's On-call API is part of the binary.</p>
      </Empty>
    </div>
  );
}
