package redislimit

import "github.com/redis/go-redis/v9"

// The two scripts share a prelude: the server's clock, in microseconds
// (exact in a Lua number, a double, until the year 2255), and the helpers
// that read and write a budget. Numbers are passed to Redis formatted as
// integers, whatever the server's own formatting of Lua numbers.
//
// A budget is the hash KEYS[2i-1] {c = credit in µs, t = when, server
// time in µs}; it is absent when full. Its attempts in flight are the
// sorted set KEYS[2i]: member the reservation's token, score the server
// time its lease ends.
const prelude = `
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local function int(x) return string.format('%.0f', x) end

-- credit returns budget h's credit at now (capacity cap when absent) and
-- the time it is counted from: credit accrues at one µs per µs up to cap.
local function credit(h, cap)
	local st = redis.call('HMGET', h, 'c', 't')
	if not st[1] then return cap, now end
	local c, last = tonumber(st[1]), tonumber(st[2])
	if now > last then c, last = c + (now - last), now end
	if c > cap then c = cap end
	return c, last
end

-- store writes budget h, credit c at last, to expire when it is full
-- again; a full budget is deleted, as absent is full.
local function store(h, c, last, cap)
	if c >= cap then
		redis.call('DEL', h)
		return
	end
	redis.call('HSET', h, 'c', int(c), 't', int(last))
	redis.call('PEXPIRE', h, int(math.floor((cap - c + last - now) / 1000) + 1))
end
`

// reserveScript takes one attempt from every budget, all or none.
//
// KEYS: budget and lease set of each LimitKey, in pairs. ARGV: token,
// lease (µs), then interval and capacity (µs) of each key.
//
// Reply {0, 0}: granted, the token leased in every lease set; at once if
// it is leased already, as the client may send the script again when a
// reply is lost. {1, µs}: refused, a budget is spent by failures; the
// longest wait until it has one interval of credit. {2, 0}: a budget is
// held by attempts in flight; nothing taken, try again after they settle.
var reserveScript = redis.NewScript(prelude + `
local token, lease = ARGV[1], tonumber(ARGV[2])
-- Run again (a client's retry after a lost reply): granted already.
local mine = redis.call('ZSCORE', KEYS[2], token)
if mine and tonumber(mine) > now then return {0, 0} end
local n = #KEYS / 2
local retry, held = 0, false
for i = 1, n do
	local h, f = KEYS[2*i-1], KEYS[2*i]
	local iv, cap = tonumber(ARGV[2*i+1]), tonumber(ARGV[2*i+2])
	-- Leases that ended: attempts of a lost instance, cancelled.
	redis.call('ZREMRANGEBYSCORE', f, '-inf', int(now))
	local c = credit(h, cap)
	if c < iv then
		if iv - c > retry then retry = iv - c end
	elseif c - redis.call('ZCARD', f) * iv < iv then
		held = true
	end
end
if retry > 0 then return {1, retry} end
if held then return {2, 0} end
for i = 1, n do
	local f = KEYS[2*i]
	redis.call('ZADD', f, int(now + lease), token)
	local last = redis.call('ZRANGE', f, -1, -1, 'WITHSCORES')
	redis.call('PEXPIRE', f, int(math.floor((tonumber(last[2]) - now) / 1000) + 1))
end
return {0, 0}
`)

// settleScript settles a reservation: for each key whose lease set still
// holds the token under a lease that has not ended, removes it and
// applies the outcome. A token that is gone (settled already, or its
// lease ended and the attempt counted as cancelled) changes nothing.
//
// KEYS: as reserveScript's. ARGV: token, outcome (f failed, s succeeded,
// c cancelled), then interval, capacity (µs) and forgive (1
// or 0) of each key.
var settleScript = redis.NewScript(prelude + `
local token, outcome = ARGV[1], ARGV[2]
local n = #KEYS / 2
for i = 1, n do
	local h, f = KEYS[2*i-1], KEYS[2*i]
	local iv, cap, forgive = tonumber(ARGV[3*i]), tonumber(ARGV[3*i+1]), ARGV[3*i+2] == '1'
	local ends = redis.call('ZSCORE', f, token)
	if ends then
		redis.call('ZREM', f, token)
		if tonumber(ends) > now then
			if outcome == 'f' then
				local c, last = credit(h, cap)
				store(h, c - iv, last, cap)
			elseif outcome == 's' and forgive then
				redis.call('DEL', h)
			end
		end
	end
end
return 0
`)
