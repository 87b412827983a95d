// @steward/messaging: JetStream as Steward's only channel between services: topology,
// event publishing, commands with outcomes, dead letters, and the NestJS transport.
export { connectNats, natsReachable } from './nats.connection';
export type { ConnectNatsOptions } from './nats.connection';
export { declareTopology, provisionStreams, provisionConsumer, removeRetiredConsumer, DUPLICATE_WINDOW_MS } from './topology.provision';
export type {
  Topology,
  TopologyOptions,
  StreamKind,
  StreamDeclaration,
  DurableConsumerDeclaration,
  Drift,
  ProvisionReport,
  ConsumerProvisionReport,
} from './topology.provision';
export { publishEvent, publishEncoded } from './event.publisher';
export type { PublishEventOptions, EncodedEnvelope } from './event.publisher';
export { envelopeHeaders, decodeEnvelope } from './envelope.codec';
export type { Payload } from './envelope.codec';
export { CommandEnvelope, CommandEnvelopeSchema, decodeCommand, commandHeaders, commandPattern } from './command.envelope';
export { CommandBus } from './command.bus';
export type { CommandOutcome, SendCommandOptions, CommandBusOptions } from './command.bus';
export { publishDeadLetter, parseDeadLetter, headersToJson, DLQ_ERROR_HEADER } from './dead-letter.publisher';
export type { DeadLetter, DeadLetterReason, DeadLetterSource } from './dead-letter.publisher';
export { retryDelayMs, isPermanentError, decideFailure, DEFAULT_RETRY } from './failure.policy';
export type { RetryPolicy, FailureDecision } from './failure.policy';
export { JetStreamServer, JETSTREAM_TRANSPORT } from './jetstream.server';
export type { JetStreamServerOptions, JetStreamConsumerOptions, BatchDelivery, BatchItem } from './jetstream.server';
export type { ConsumedStream } from './message.router';
export { JetStreamContext } from './jetstream.context';
export type { JetStreamMessageMeta, Settlement } from './jetstream.context';
export { JetStreamExceptionFilter } from './jetstream.exception-filter';
export { JetStreamClient } from './jetstream.client';
export type { JetStreamClientOptions, CommandPattern } from './jetstream.client';
export { MaxDeliveriesAdvisoryWatcher } from './max-deliveries.watcher';
export type { MaxDeliveriesAdvisory, MaxDeliveriesWatcherOptions } from './max-deliveries.watcher';
export { ConsumerMetrics } from './consumer.metrics';
export type { HandlingOutcome } from './consumer.metrics';
export { PresenceReporter, PresenceDirectory, presenceBucket } from './presence';
export type { PresenceEntry, PresenceReporterOptions, PresenceDirectoryOptions } from './presence';
export { createJsonLogger } from './json.logger';
export type { Logger, LogLevel, JsonLoggerOptions } from './json.logger';
