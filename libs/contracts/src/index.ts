export { Topics, dlqTopicOf, keyOf, schemasOnTopic, topicCatalogue, topicOf } from './topics.js';
export type { DlqTopicName, TopicName, TopicSpec } from './topics.js';

export { decode, decodeAs, decodeRecordAs, encode, violationsOf } from './codec.js';
export type { EncodeOptions, EncodedRecord, IncomingRecord, Violation } from './codec.js';

export { AVRO_CONTENT_TYPE, formatViewSource, HeaderNames, headerText, parseViewSource } from './headers.js';
export type { HeaderValue, IncomingHeaders, ViewSource } from './headers.js';

export { ContractError, isContractError } from './errors.js';
export type { ContractErrorCode, ContractErrorDetails } from './errors.js';

export { avroSchemaOf, fullNameOf, latestVersionOf, schemaNames } from './schema-info.js';
export type { AvroRecordSchema } from './schemas/avro-schema.js';

export { ALL_ITEMS, rejectionReasons, stockStatuses } from './records.js';
export type {
  AdjustStock,
  BuyRequested,
  DecodedRecord,
  EpochMillis,
  ItemBought,
  ItemCommand,
  ItemCommandName,
  ItemEvent,
  ItemEventName,
  ItemListed,
  ListItem,
  NamedRecord,
  OutOfStock,
  PurchaseRejected,
  RecordOf,
  RejectionReason,
  SalesMetrics,
  SchemaName,
  StockAdjusted,
  StockStatus,
  StockView,
} from './records.js';
