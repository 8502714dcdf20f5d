// Alerting: rules, alerts, silences (list, create with preview, expire),
// the notification outbox, and an alert's ledger timeline.
import { useRoute } from 'wouter-preact';
import { Tabs } from '../../components/Tabs';
import { withRange } from '../../lib/url';
import { AlertsTab } from './AlertsTab';
import { HistoryTab } from './HistoryTab';
import { OutboxTab } from './OutboxTab';
import { RulesTab } from './RulesTab';
import { SilenceForm } from './SilenceForm';
import { SilencesTab } from './SilencesTab';

export default function AlertingPage() {
  const [, p] = useRoute<{ tab?: string; arg?: string }>('/alerting/:tab?/:arg?');
  const tab = p?.tab ?? 'alerts';
  return (
    <div class="page">
      <div class="page-head">
        <h1>Alerting</h1>
      </div>
      <Tabs
        label="Alerting views"
        current={tab === 'history' ? 'alerts' : tab}
        tabs={[
          { id: 'alerts', label: 'Alerts', href: withRange('/alerting/alerts') },
          { id: 'rules', label: 'Rules', href: withRange('/alerting/rules') },
          { id: 'silences', label: 'Silences', href: withRange('/alerting/silences') },
          { id: 'outbox', label: 'Notifications', href: withRange('/alerting/outbox') },
        ]}
      />
      {tab === 'alerts' && <AlertsTab />}
      {tab === 'rules' && <RulesTab />}
      {tab === 'silences' && (p?.arg === 'new' ? <SilenceForm /> : <SilencesTab />)}
      {tab === 'outbox' && <OutboxTab />}
      {tab === 'history' && <HistoryTab fingerprint={p?.arg ?? ''} />}
    </div>
  );
}
