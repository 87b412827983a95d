/** NATS header names. `Nats-Msg-Id` is JetStream's dedupe key: always the event or command id. */
export const Headers = {
  MsgId: 'Nats-Msg-Id',
  Type: 'Steward-Type',
  CorrelationId: 'Steward-Correlation-Id',
  CausationId: 'Steward-Causation-Id',
  Traceparent: 'traceparent',
  Actor: 'Steward-Actor',
  // dead letters
  DlqReason: 'Steward-Dlq-Reason',
  DlqConsumer: 'Steward-Dlq-Consumer',
  DlqSubject: 'Steward-Dlq-Subject',
  DlqStream: 'Steward-Dlq-Stream',
  DlqStreamSeq: 'Steward-Dlq-Stream-Seq',
  DlqDeliveries: 'Steward-Dlq-Deliveries',
  DlqOriginalHeaders: 'Steward-Dlq-Original-Headers',
} as const;
