// Lua sources of the admission gate, kept as strings so `dist/` needs no asset copying. Each script touches
// only keys passed in KEYS, all of one item (one hash tag), and runs atomically: no other command sees a
// half-applied step. Optional numbers travel as '' when absent.
//
// The gate hash holds `available`, which is only ever checked before it is decremented, so no client can
// read a negative or transiently wrong stock.

/** Redis' own clock in epoch ms: every time two gateways compare (admission age, a sale's start) is read here. */
const NOW = `local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)`;

/**
 * KEYS: gate, buyers, idempotency, purchase, admitted.
 * ARGV: itemId, buyerId, quantity, idempotencyKey, requestHash, purchaseId, gatewayId, retentionMs.
 * Returns one of:
 *   {'admitted', admissionSeq, available, admittedAt}
 *   {'replay', purchaseId}                 same key, same requestHash
 *   {'conflict', purchaseId}               same key, another requestHash
 *   {'rejected', reason, available, perBuyerLimit, startsAt|'', version}
 *   {'unknown-item'}
 *   {'purchase-id-taken'}
 */
export const ADMIT = `
local idem = redis.call('HMGET', KEYS[3], 'requestHash', 'purchaseId')
if idem[2] then
  if idem[1] == ARGV[5] then return {'replay', idem[2]} end
  return {'conflict', idem[2]}
end
local gate = redis.call('HMGET', KEYS[1], 'available', 'perBuyerLimit', 'startsAt', 'version')
if not gate[1] then return {'unknown-item'} end
local available = tonumber(gate[1])
local limit = tonumber(gate[2])
local startsAt = gate[3] or ''
local version = tonumber(gate[4] or '0')
local quantity = tonumber(ARGV[3])
${NOW}
if startsAt ~= '' and now < tonumber(startsAt) then
  return {'rejected', 'NOT_STARTED', available, limit, startsAt, version}
end
local counted = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
if counted + quantity > limit then
  return {'rejected', 'LIMIT_EXCEEDED', available, limit, startsAt, version}
end
if available < quantity then
  return {'rejected', 'SOLD_OUT', available, limit, startsAt, version}
end
if redis.call('EXISTS', KEYS[4]) == 1 then return {'purchase-id-taken'} end
available = redis.call('HINCRBY', KEYS[1], 'available', -quantity)
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HINCRBY', KEYS[2], ARGV[2], quantity)
redis.call('HSET', KEYS[4],
  'purchaseId', ARGV[6], 'itemId', ARGV[1], 'buyerId', ARGV[2], 'quantity', ARGV[3],
  'status', 'admitted', 'reason', '', 'admittedAt', now, 'admissionSeq', seq,
  'idempotencyKey', ARGV[4], 'requestHash', ARGV[5], 'gatewayId', ARGV[7])
redis.call('HSET', KEYS[3], 'requestHash', ARGV[5], 'purchaseId', ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[8])
redis.call('ZADD', KEYS[5], now, ARGV[6])
return {'admitted', seq, available, now}
`;

/**
 * KEYS: purchase, admitted. ARGV: purchaseId.
 * Returns 1 when the purchase went admitted → pending, else 0.
 */
export const MARK_ACCEPTED = `
if redis.call('HGET', KEYS[1], 'status') ~= 'admitted' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'pending')
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`;

/**
 * KEYS: purchase, gate, buyers, admitted, idempotency (of the purchase's own key).
 * ARGV: purchaseId, why, retentionMs.
 * Returns 1 when the purchase went admitted → withdrawn and its units went back, else 0: it is no longer
 * admitted, or the reconciler is publishing it (then it may be in the log, and nobody may say it is not).
 */
export const RELEASE = `
local p = redis.call('HMGET', KEYS[1], 'status', 'quantity', 'buyerId', 'finishing')
if p[1] ~= 'admitted' then
  redis.call('ZREM', KEYS[4], ARGV[1])
  return 0
end
if p[4] == '1' then return 0 end
redis.call('ZREM', KEYS[4], ARGV[1])
local quantity = tonumber(p[2])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HINCRBY', KEYS[2], 'available', quantity)
  if redis.call('HINCRBY', KEYS[3], p[3], -quantity) <= 0 then redis.call('HDEL', KEYS[3], p[3]) end
end
-- The key may already name a newer purchase (it expired and was reused); that one keeps it.
if redis.call('HGET', KEYS[5], 'purchaseId') == ARGV[1] then redis.call('DEL', KEYS[5]) end
redis.call('HSET', KEYS[1], 'status', 'withdrawn', 'reason', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

/**
 * KEYS: admitted. ARGV: olderThanMs, limit.
 * Returns the ids of admissions older than the bound (by Redis' clock, like their admission time).
 */
export const STUCK_ADMISSIONS = `
${NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[1])), 'LIMIT', 0, tonumber(ARGV[2]))
`;

/**
 * KEYS: purchase, admitted. ARGV: purchaseId, olderThanMs.
 * Claims a stuck admission for the reconciler, which publishes it: marks it `finishing` (a late publish
 * failure of its own gateway can no longer withdraw it) and moves its age to now, so other reconcilers
 * leave it alone for another bound. Returns the record's fields as a flat list, or {} when it is no
 * longer admitted (acknowledged, decided) or was claimed meanwhile.
 */
export const CLAIM_STUCK = `
${NOW}
if redis.call('HGET', KEYS[1], 'status') ~= 'admitted' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {}
end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) >= now - tonumber(ARGV[2]) then return {} end
redis.call('HSET', KEYS[1], 'finishing', '1')
redis.call('ZADD', KEYS[2], now, ARGV[1])
return redis.call('HGETALL', KEYS[1])
`;

/**
 * KEYS: purchase, gate, buyers, admitted.
 * ARGV: purchaseId, itemId, status, reason, version|'', remaining|'', buyerId|'', quantity|'',
 *       admissionSeq|'', admittedAt|'', retentionMs, originalPurchaseId|''.
 * Returns 1 when the final status was recorded now, 0 when the purchase was already decided.
 *
 * The buyer's count always follows SQL: a rejection, SOLD_OUT included, stops counting the purchase's units
 * against the buyer. Its units go back on sale on a rejection other than SOLD_OUT (SQL still has them); on
 * SOLD_OUT (SQL had fewer than the gate believed) only when the decision carries SQL's remaining at a
 * version the gate has not passed, so the gate is trimmed to it just after: units SQL still has are never
 * stranded, units it does not have never come back. A withdrawn purchase already gave its units back, so a confirmation (the publish was acknowledged after
 * the reconciler gave up on it) takes them again. A record Redis lost is rebuilt; its units are taken only
 * if the decision is newer than the version the gate was restored at (older ones are in SQL's remaining).
 */
export const APPLY_OUTCOME = `
local p = redis.call('HMGET', KEYS[1], 'status', 'quantity', 'buyerId')
local current = p[1]
if current == 'confirmed' or current == 'rejected' then return 0 end
local hasGate = redis.call('EXISTS', KEYS[2]) == 1
local applied = 0
if hasGate then applied = tonumber(redis.call('HGET', KEYS[2], 'version') or '0') end
local version = tonumber(ARGV[5])
local confirmed = ARGV[3] == 'confirmed'

local function take(buyer, quantity)
  local available = tonumber(redis.call('HGET', KEYS[2], 'available') or '0')
  redis.call('HSET', KEYS[2], 'available', math.max(0, available - quantity))
  if buyer ~= '' then redis.call('HINCRBY', KEYS[3], buyer, quantity) end
end

local function uncount(buyer, quantity)
  if redis.call('HINCRBY', KEYS[3], buyer, -quantity) <= 0 then redis.call('HDEL', KEYS[3], buyer) end
end

local trimmed = hasGate and version and version >= applied and tonumber(ARGV[6])

if current == 'admitted' or current == 'pending' then
  if hasGate and not confirmed then
    local quantity = tonumber(p[2])
    uncount(p[3], quantity)
    if ARGV[4] ~= 'SOLD_OUT' or trimmed then redis.call('HINCRBY', KEYS[2], 'available', quantity) end
  end
elseif current == 'withdrawn' then
  if hasGate and confirmed then take(p[3], tonumber(p[2])) end
else
  redis.call('HSET', KEYS[1],
    'purchaseId', ARGV[1], 'itemId', ARGV[2], 'buyerId', ARGV[7], 'quantity', ARGV[8],
    'admittedAt', ARGV[10], 'admissionSeq', ARGV[9], 'idempotencyKey', '')
  local quantity = tonumber(ARGV[8]) or 0
  if hasGate and confirmed and version and version > applied and quantity > 0 then take(ARGV[7], quantity) end
end
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'reason', ARGV[4])
if ARGV[12] and ARGV[12] ~= '' then redis.call('HSET', KEYS[1], 'originalPurchaseId', ARGV[12]) end
redis.call('PEXPIRE', KEYS[1], ARGV[11])
redis.call('ZREM', KEYS[4], ARGV[1])

if hasGate and version and version >= applied then
  local remaining = tonumber(ARGV[6])
  if trimmed then
    local available = tonumber(redis.call('HGET', KEYS[2], 'available') or '0')
    if remaining < available then redis.call('HSET', KEYS[2], 'available', math.max(0, remaining)) end
  end
  if version > applied then redis.call('HSET', KEYS[2], 'version', ARGV[5]) end
end
return 1
`;

/**
 * KEYS: gate. ARGV: version, stock, perBuyerLimit, startsAt|''.
 * Returns 1 when applied, 0 when the gate already has this version or a newer one.
 * The per-item sequence and buyer counts are left alone.
 */
export const APPLY_LISTING = `
local applied = redis.call('HGET', KEYS[1], 'version')
if applied and tonumber(applied) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'available', ARGV[2], 'perBuyerLimit', ARGV[3], 'startsAt', ARGV[4], 'version', ARGV[1])
return 1
`;

/**
 * KEYS: gate. ARGV: version, delta, remaining|''.
 * Returns 1 when applied, 0 when the gate is unknown or already has this version or a newer one.
 */
export const APPLY_STOCK_ADJUSTED = `
local g = redis.call('HMGET', KEYS[1], 'version', 'available')
if not g[1] then return 0 end
if tonumber(g[1]) >= tonumber(ARGV[1]) then return 0 end
local available = math.max(0, tonumber(g[2]) + tonumber(ARGV[2]))
local remaining = tonumber(ARGV[3])
if remaining then available = math.min(available, math.max(0, remaining)) end
redis.call('HSET', KEYS[1], 'available', available, 'version', ARGV[1])
return 1
`;

/**
 * KEYS: gate. ARGV: version, remaining.
 * Returns 1 when the gate was trimmed or its version advanced, else 0.
 */
export const APPLY_SOLD_STATE = `
local g = redis.call('HMGET', KEYS[1], 'version', 'available')
if not g[1] then return 0 end
local applied = tonumber(g[1])
local version = tonumber(ARGV[1])
if version < applied then return 0 end
local changed = 0
local remaining = math.max(0, tonumber(ARGV[2]))
if remaining < tonumber(g[2]) then
  redis.call('HSET', KEYS[1], 'available', remaining)
  changed = 1
end
if version > applied then
  redis.call('HSET', KEYS[1], 'version', ARGV[1])
  changed = 1
end
return changed
`;

/**
 * KEYS: gate, buyers.
 * ARGV: version, remaining, perBuyerLimit, startsAt|'', lastAdmissionSeq|'', mode ('gate' | 'buyers'),
 *       then buyerId, units pairs.
 * Returns 1 when applied, 0 when the gate already has this version or a newer one.
 * Buyer counts are only ever raised (a surviving count may include units still in flight). In 'buyers'
 * mode only the counts are written: large snapshots go in several calls, the gate hash last, so no buyer
 * can be admitted before their count is back.
 */
export const RESTORE_ITEM = `
local applied = redis.call('HGET', KEYS[1], 'version')
if applied and tonumber(applied) >= tonumber(ARGV[1]) then return 0 end
for i = 7, #ARGV, 2 do
  local units = tonumber(ARGV[i + 1])
  if units > tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '0') then
    redis.call('HSET', KEYS[2], ARGV[i], units)
  end
end
if ARGV[6] ~= 'gate' then return 1 end
redis.call('HSET', KEYS[1],
  'available', math.max(0, tonumber(ARGV[2])), 'perBuyerLimit', ARGV[3], 'startsAt', ARGV[4], 'version', ARGV[1])
local lastSeq = tonumber(ARGV[5])
if lastSeq and lastSeq > tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') then
  redis.call('HSET', KEYS[1], 'seq', ARGV[5])
end
return 1
`;
