// JSON schemas of the HTTP contract: validation (additionalProperties false, bounded sizes) and OpenAPI.
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$';

const errorShape = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

export const itemView = {
  type: 'object',
  properties: {
    itemId: { type: 'string' },
    title: { type: 'string' },
    priceMinor: { type: 'integer' },
    currency: { type: 'string' },
    perBuyerLimit: { type: 'integer' },
    startsAt: { type: ['string', 'null'], format: 'date-time' },
    listed: { type: 'integer' },
    available: { type: 'integer' },
    sold: { type: 'integer' },
    status: { type: 'string', enum: ['scheduled', 'live', 'sold-out'] },
    version: { type: 'integer' },
  },
  required: ['itemId', 'title', 'available', 'sold', 'status', 'version'],
} as const;

export const purchaseView = {
  type: 'object',
  properties: {
    purchaseId: { type: 'string' },
    itemId: { type: 'string' },
    buyerId: { type: 'string' },
    quantity: { type: 'integer' },
    status: { type: 'string', enum: ['pending', 'confirmed', 'rejected'] },
    reason: { type: 'string' },
    originalPurchaseId: {
      type: 'string',
      description: 'DUPLICATE_REQUEST: the purchase this Idempotency-Key already made',
    },
    statusUrl: { type: 'string' },
  },
  required: ['purchaseId', 'status'],
} as const;

const rejection = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['rejected'] },
    reason: { type: 'string' },
    purchaseId: { type: 'string' },
    originalPurchaseId: {
      type: 'string',
      description: 'DUPLICATE_REQUEST: the purchase this Idempotency-Key already made',
    },
    available: { type: 'integer' },
    itemVersion: {
      type: 'integer',
      description: 'A refusal at the gate: the item version it had applied when it refused',
    },
    ...errorShape.properties,
  },
  required: ['status', 'reason', 'error'],
} as const;

const itemIdParams = {
  type: 'object',
  properties: { id: { type: 'string', pattern: ID_PATTERN } },
  required: ['id'],
  additionalProperties: false,
} as const;

export const buyNowSchema = {
  summary: 'Buy now: admit at the gate and hand the purchase to the log',
  description:
    "Needs Authorization: Bearer <buyer token> (HS256 JWT); the buyer is the token's sub. A buyerId in the body is optional and must equal it (403 BUYER_MISMATCH otherwise). 429 RATE_LIMITED with Retry-After above the limits per client address and per buyer.",
  security: [{ buyerToken: [] }],
  params: itemIdParams,
  headers: {
    type: 'object',
    properties: {
      'idempotency-key': { type: 'string', minLength: 8, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' },
      prefer: { type: 'string', maxLength: 100 },
    },
    required: ['idempotency-key'],
  },
  body: {
    type: 'object',
    properties: {
      buyerId: { type: 'string', pattern: ID_PATTERN },
      quantity: { type: 'integer', minimum: 1, maximum: 1000, default: 1 },
    },
    additionalProperties: false,
  },
  response: { 201: purchaseView, 202: purchaseView, 409: rejection, '4xx': errorShape, '5xx': errorShape },
} as const;

export const getPurchaseSchema = {
  summary: 'A purchase and its status: pending, confirmed or rejected (with the reason)',
  params: itemIdParams,
  response: { 200: purchaseView, '4xx': errorShape },
} as const;

export const getItemSchema = {
  summary: 'The live view of one item',
  params: itemIdParams,
  response: { 200: itemView, '4xx': errorShape },
} as const;

export const listItemsSchema = {
  summary: 'The live view of every item',
  response: { 200: { type: 'object', properties: { items: { type: 'array', items: itemView } } } },
} as const;

const adminHeaders = {
  type: 'object',
  properties: {
    authorization: { type: 'string', maxLength: 512 },
    // Optional: a retry with the same key applies the change once (the same command is published again).
    'idempotency-key': { type: 'string', minLength: 8, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' },
  },
} as const;

export const listItemSchema = {
  summary: 'List an item for sale (admin)',
  security: [{ adminToken: [] }],
  headers: adminHeaders,
  body: {
    type: 'object',
    properties: {
      itemId: { type: 'string', pattern: ID_PATTERN },
      title: { type: 'string', minLength: 1, maxLength: 200 },
      priceMinor: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 },
      currency: { type: 'string', pattern: '^[A-Z]{3}$' },
      stock: { type: 'integer', minimum: 0, maximum: 10_000_000 },
      perBuyerLimit: { type: 'integer', minimum: 1, maximum: 1000, default: 1 },
      startsAt: { type: 'string', format: 'date-time' },
    },
    required: ['title', 'priceMinor', 'currency', 'stock'],
    additionalProperties: false,
  },
  response: {
    201: itemView,
    202: { type: 'object', additionalProperties: true },
    '4xx': errorShape,
    '5xx': errorShape,
  },
} as const;

export const adjustStockSchema = {
  summary: 'Restock (delta > 0) or withdraw unsold units (delta < 0) (admin)',
  security: [{ adminToken: [] }],
  headers: adminHeaders,
  params: itemIdParams,
  body: {
    type: 'object',
    properties: { delta: { type: 'integer', minimum: -10_000_000, maximum: 10_000_000, not: { const: 0 } } },
    required: ['delta'],
    additionalProperties: false,
  },
  response: { 202: { type: 'object', additionalProperties: true }, '4xx': errorShape, '5xx': errorShape },
} as const;

export const seedBuyNowSchema = {
  summary: 'The seed project\'s buy-now: 200 "OK" or 400 "Sold out"',
  body: {
    type: 'object',
    properties: {
      itemId: { type: 'string', pattern: ID_PATTERN },
      userId: { type: 'string', pattern: ID_PATTERN },
    },
    required: ['itemId', 'userId'],
    additionalProperties: false,
  },
} as const;

export const issueBuyerTokenSchema = {
  summary: 'Demo mode only: a buyer token for anyone (a random demo-… buyerId when none is given)',
  body: {
    type: ['object', 'null'],
    properties: { buyerId: { type: 'string', pattern: ID_PATTERN } },
    additionalProperties: false,
  },
  response: {
    201: {
      type: 'object',
      properties: {
        buyerId: { type: 'string' },
        token: { type: 'string' },
        expiresAt: { type: 'string', format: 'date-time' },
      },
      required: ['buyerId', 'token', 'expiresAt'],
    },
    '4xx': errorShape,
    '5xx': errorShape,
  },
} as const;
