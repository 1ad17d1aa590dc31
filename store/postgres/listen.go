package postgres

import (
	"context"
	"crypto/md5" // names a channel; not a security use
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// cacheChannel is the schema's notification channel, as migration 11's
// trigger function names it: "goauthkit_" and the MD5 of the schema's
// name in hex (a channel name is at most 63 bytes; a schema name can be
// that long already).
func cacheChannel(schema string) string {
	sum := md5.Sum([]byte(schema))
	return "goauthkit_" + hex.EncodeToString(sum[:])
}

// cacheQueries are the statements of the caching protocol.
type cacheQueries struct {
	register, ack, leave, barrier, poll string
}

func buildCacheQueries(schema string) cacheQueries {
	r := strings.NewReplacer("{instances}", ident(schema, "auth_cache_instances"), "{clock}", ident(schema, "auth_cache_clock"))
	return cacheQueries{
		// An instance (re)joins: its lease, and as its acknowledgement the
		// clock's current barrier, read after its LISTEN. Instances whose
		// lease ran out over an hour ago are forgotten on the way. $1 id,
		// $2 lease in µs, $3 channel.
		register: r.Replace(`WITH gc AS (
	DELETE FROM {instances} WHERE expires_at < now() - interval '1 hour' AND id <> $1
), up AS (
	INSERT INTO {instances} AS i (id, acked, expires_at)
	SELECT $1, n, now() + $2 * interval '1 microsecond' FROM {clock}
	ON CONFLICT (id) DO UPDATE SET acked = EXCLUDED.acked, expires_at = EXCLUDED.expires_at
	RETURNING acked
)
SELECT acked, pg_notify($3, 'a:' || $1 || ':' || acked) IS NULL FROM up`),
		// A barrier acknowledged and the lease renewed ($1 id, $2 the
		// latest barrier heard, $3 lease in µs), announced to the
		// instances waiting for it and to the listener itself ($4
		// channel).
		// A barrier the clock has not reached yet was not sent by a
		// Store: nothing is written, and no row comes back.
		ack: r.Replace(`WITH up AS (
	INSERT INTO {instances} AS i (id, acked, expires_at)
	SELECT $1, $2, now() + $3 * interval '1 microsecond' FROM {clock} WHERE $2 <= n
	ON CONFLICT (id) DO UPDATE SET acked = GREATEST(i.acked, EXCLUDED.acked), expires_at = EXCLUDED.expires_at
	RETURNING acked
)
SELECT pg_notify($4, 'a:' || $1 || ':' || acked) IS NULL FROM up`),
		// An instance that stopped answering from memory gives up its
		// lease at once, so that no barrier waits for it ($2 channel).
		leave: r.Replace(`WITH up AS (
	UPDATE {instances} SET expires_at = LEAST(expires_at, now()) WHERE id = $1 RETURNING id
)
SELECT pg_notify($2, 'g:' || id) IS NULL FROM up`),
		// A barrier: the clock incremented and announced, if any instance
		// holds a lease, and the instances that hold one, with their
		// acknowledgements ($1 channel). Its snapshot is taken after the
		// caller's write committed.
		barrier: r.Replace(`WITH live AS (
	SELECT id, acked FROM {instances} WHERE expires_at > now()
), b AS (
	UPDATE {clock} SET n = n + 1 WHERE EXISTS (SELECT 1 FROM live)
	RETURNING n, pg_notify($1, 'b:' || n) IS NULL AS sent
)
SELECT (SELECT n FROM b), id, acked FROM live`),
		// Which of the instances $1 no longer need waiting for: those that
		// acknowledged barrier $2, whose lease ran out, or that are gone.
		poll: r.Replace(`SELECT id FROM {instances} WHERE id = ANY($1) AND acked < $2 AND expires_at > now()`),
	}
}

// instance is the Store's membership in the caching protocol: a
// connection of its own that listens on the schema's channel, keeps the
// Store's lease, acknowledges barriers, and tells the cache when it may
// answer.
type instance struct {
	id      string
	channel string
	lease   time.Duration
	connCfg *pgx.ConnConfig
	// The pool's hooks, which the listening connection runs too (one
	// that sets a fresh password before each connection, say).
	beforeConnect func(context.Context, *pgx.ConnConfig) error
	afterConnect  func(context.Context, *pgx.Conn) error
	pool          *pgxpool.Pool
	q             *cacheQueries
	cache         *userCache

	mu      sync.Mutex
	heard   int64         // the latest barrier heard (after a registration: the clock it read)
	hints   uint64        // other instances' acknowledgements and departures heard
	changed chan struct{} // closed and replaced whenever heard or hints change
	pid     uint32        // the listening connection's backend, 0 while there is none

	stop  context.CancelFunc
	done  chan struct{}
	first chan error // the first registration's outcome
}

func newInstance(pool *pgxpool.Pool, schema string, q *cacheQueries, c *userCache, lease time.Duration) *instance {
	pc := pool.Config()
	cfg := pc.ConnConfig
	cfg.RuntimeParams["application_name"] = "goauthkit cache listener"
	var id [12]byte
	rand.Read(id[:])
	return &instance{
		id: hex.EncodeToString(id[:]), channel: cacheChannel(schema), lease: lease, connCfg: cfg,
		beforeConnect: pc.BeforeConnect, afterConnect: pc.AfterConnect, pool: pool, q: q, cache: c,
		changed: make(chan struct{}), done: make(chan struct{}), first: make(chan error, 1),
	}
}

// start runs the instance until close, and waits for its first
// registration (or its failure, which the instance then retries).
func (i *instance) start(ctx context.Context) error {
	rctx, stop := context.WithCancel(context.Background())
	i.stop = stop
	go i.run(rctx)
	select {
	case err := <-i.first:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops the instance, and gives up its lease.
func (i *instance) close() {
	i.stop()
	<-i.done
	i.leave()
}

// trustFor is how long after sending a statement that renewed the lease
// the cache may answer: the lease less a tenth, for clocks that do not
// run at exactly the database's rate.
func (i *instance) trustFor() time.Duration { return i.lease - i.lease/10 }

// run listens until ctx ends, reconnecting after every failure, with the
// cache distrusted from each failure until the next registration.
func (i *instance) run(ctx context.Context) {
	defer close(i.done)
	backoff := 50 * time.Millisecond
	for {
		began := time.Now()
		err := i.listen(ctx)
		i.cache.distrust()
		i.setPID(0)
		select {
		case i.first <- err:
		default:
		}
		if ctx.Err() != nil {
			return
		}
		i.leave()
		if time.Since(began) > i.lease {
			backoff = 50 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// errDeaf is the listening connection's failure when it does not hear its
// own notifications: a connection through a pooler in transaction mode,
// say, where LISTEN does not work.
var errDeaf = errors.New("postgres: the cache's listening connection does not hear its own notifications " +
	"(through a pooler in transaction mode?): connect the store to PostgreSQL directly, or set Config.Cache.Off")

// listen connects, listens, registers, and then hears notifications and
// renews the lease until the connection fails or ctx ends.
//
// Every statement it sends on the connection (the registration, and each
// acknowledgement, which also renews the lease) is announced on the
// channel; the connection must have heard all of them by the time the next
// renewal is due (a third of the lease later), or it is given up as deaf.
// A deaf listener that keeps its lease would hold every barrier until its
// caller gave up.
func (i *instance) listen(ctx context.Context) error {
	cfg := i.connCfg.Copy()
	if i.beforeConnect != nil {
		if err := i.beforeConnect(ctx, cfg); err != nil {
			return unavailable(ctx, err)
		}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return unavailable(ctx, err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.Close(cctx)
		cancel()
	}()
	if i.afterConnect != nil {
		if err := i.afterConnect(ctx, conn); err != nil {
			return unavailable(ctx, err)
		}
	}
	i.setPID(conn.PgConn().PID())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{i.channel}.Sanitize()); err != nil {
		return unavailable(ctx, err)
	}
	if err := i.probe(ctx, conn); err != nil {
		return err
	}
	sent := time.Now()
	var heard int64
	var null bool
	if err := i.exec(ctx, conn, sent, i.q.register, i.id, i.lease.Microseconds(), i.channel).Scan(&heard, &null); err != nil {
		return unavailable(ctx, err)
	}
	// The clock was read after the LISTEN: every change committed since
	// will be heard, and every one before is in what the database now
	// answers. trust forgets what the cache held (it was distrusted).
	i.cache.trust(sent.Add(i.trustFor()))
	i.setHeard(heard)
	select {
	case i.first <- nil:
	default:
	}
	echoes, echoed := 1, 0
	renewAt := sent.Add(i.lease / 3)
	for {
		ack := int64(0)
		if !time.Now().Before(renewAt) {
			if echoed < echoes {
				return errDeaf
			}
			ack = i.heardNow()
		} else {
			wctx, cancel := context.WithDeadline(ctx, renewAt)
			n, err := conn.WaitForNotification(wctx)
			cancel()
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case err != nil && wctx.Err() != nil && !conn.IsClosed():
				continue // time to renew; the connection is fine
			case err != nil:
				return unavailable(ctx, err)
			}
			var echo bool
			if ack, echo, err = i.hear(n.Payload, true); err != nil {
				return err
			}
			if echo {
				echoed++
			}
			if ack == 0 {
				continue
			}
		}
		sent = time.Now()
		switch err := i.exec(ctx, conn, sent, i.q.ack, i.id, ack, i.lease.Microseconds(), i.channel).Scan(&null); {
		case errors.Is(err, pgx.ErrNoRows):
			return errGap // a barrier beyond the clock
		case err != nil:
			return unavailable(ctx, err)
		}
		echoes++
		i.cache.trust(sent.Add(i.trustFor()))
		renewAt = sent.Add(i.lease / 3)
	}
}

// probe checks, before the instance joins, that the connection hears its
// own notification within a third of the lease: one that does not (behind
// a pooler in transaction mode, say) never takes a lease that barriers
// would wait for. What it hears meanwhile it acts on, but for barriers:
// it does not hold a lease to acknowledge them with.
func (i *instance) probe(ctx context.Context, conn *pgx.Conn) error {
	me := string(noteProbe) + ":" + i.id
	if _, err := conn.Exec(ctx, "SELECT pg_notify($1, $2)", i.channel, me); err != nil {
		return unavailable(ctx, err)
	}
	pctx, cancel := context.WithTimeout(ctx, i.lease/3)
	defer cancel()
	for {
		n, err := conn.WaitForNotification(pctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && pctx.Err() != nil:
			return errDeaf
		case err != nil:
			return unavailable(ctx, err)
		case n.Payload == me:
			return nil
		}
		i.hear(n.Payload, false)
	}
}

// exec runs a one-row statement on the listening connection, given a
// third of the lease from sent.
func (i *instance) exec(ctx context.Context, conn *pgx.Conn, sent time.Time, query string, args ...any) pgx.Row {
	sctx, cancel := context.WithDeadline(ctx, sent.Add(i.lease/3))
	return &cancelRow{conn.QueryRow(sctx, query, args...), cancel}
}

type cancelRow struct {
	pgx.Row
	cancel context.CancelFunc
}

func (r *cancelRow) Scan(dest ...any) error {
	defer r.cancel()
	return r.Row.Scan(dest...)
}

// errGap is the listening connection's failure when a barrier is not the
// one after the last it heard (it missed one, so it may have missed
// changes), or is beyond the clock. Barriers are numbered in the order
// they commit, and a live listener hears every one: this is a
// notification sent by someone else than this package, or a defect.
var errGap = errors.New("postgres: the cache's listening connection heard barriers out of order")

// hear acts on one notification. It returns the barrier to acknowledge,
// if it was the next one (only once joined: before, barriers are left to
// the registration's reading of the clock); whether it was this instance's
// own acknowledgement; and errGap for a barrier beyond the next.
//
// Other instances' acknowledgements and departures only wake the waiting
// writers, which then read the table: anyone who can connect to the
// database can send a notification, but not write the table.
func (i *instance) hear(payload string, joined bool) (barrier int64, echo bool, err error) {
	n := parseNote(payload)
	switch n.kind {
	case noteUser:
		i.cache.invalidate(n.id)
	case noteBarrier:
		if !joined {
			break
		}
		i.mu.Lock()
		defer i.mu.Unlock()
		switch {
		case n.n <= i.heard: // committed before this instance joined
		case n.n == i.heard+1:
			i.heard = n.n
			i.signal()
			return n.n, false, nil
		default:
			return 0, false, errGap
		}
	case noteAck, noteGone:
		if n.id == i.id {
			return 0, n.kind == noteAck, nil
		}
		i.mu.Lock()
		i.hints++
		i.signal()
		i.mu.Unlock()
	case noteProbe: // another instance's, or this one's, late
	default: // everything, or something this release does not know
		i.cache.clear()
	}
	return 0, false, nil
}

func (i *instance) setHeard(n int64) {
	i.mu.Lock()
	i.heard = max(i.heard, n)
	i.signal()
	i.mu.Unlock()
}

func (i *instance) heardNow() int64 {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.heard
}

func (i *instance) setPID(pid uint32) {
	i.mu.Lock()
	i.pid = pid
	i.mu.Unlock()
}

// signal wakes the waiters; i.mu is held.
func (i *instance) signal() {
	close(i.changed)
	i.changed = make(chan struct{})
}

// leave gives up the lease (the cache is already distrusted), so that no
// barrier waits for this instance until it registers again. It is only an
// optimisation: a lease left alone runs out.
func (i *instance) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var null bool
	_ = i.pool.QueryRow(ctx, i.q.leave, i.id, i.channel).Scan(&null)
}

// note is a parsed notification.
type note struct {
	kind byte // one of the note kinds; 0: anything else
	id   string
	n    int64
}

// The kinds of notification on a schema's channel: a user (or one of its
// sessions) changed, from the triggers; a barrier; an instance's
// acknowledgement of one; an instance gone; an instance's probe of its
// own connection.
const (
	noteUser    = 'u'
	noteBarrier = 'b'
	noteAck     = 'a'
	noteGone    = 'g'
	noteProbe   = 'p'
)

// parseNote reads a notification's payload: "u:<user id>", "b:<n>",
// "a:<instance id>:<n>", "g:<instance id>" or "p:<instance id>".
// Anything else (the triggers' "*" after a TRUNCATE, or a payload this
// release does not know, or one that does not parse) is kind 0, which
// clears the cache.
func parseNote(p string) note {
	if len(p) < 2 || p[1] != ':' {
		return note{}
	}
	rest := p[2:]
	switch p[0] {
	case noteUser:
		return note{kind: noteUser, id: rest}
	case noteGone, noteProbe:
		return note{kind: p[0], id: rest}
	case noteBarrier:
		if n, err := strconv.ParseInt(rest, 10, 64); err == nil && n > 0 {
			return note{kind: noteBarrier, n: n}
		}
	case noteAck:
		if k := strings.LastIndexByte(rest, ':'); k > 0 {
			if n, err := strconv.ParseInt(rest[k+1:], 10, 64); err == nil && n >= 0 {
				return note{kind: noteAck, id: rest[:k], n: n}
			}
		}
	}
	return note{}
}

// settle returns once every instance that holds a lease has heard every
// change to users and sessions committed before settle was called: it
// sends a barrier and waits until each of them acknowledged it, or gave
// up or lost its lease. Every write that can change what UserByID or
// UserBySession answer calls it after committing, before returning.
func (s *Store) settle(ctx context.Context) error {
	var hints uint64 // read before the barrier: any acknowledgement after it wakes the wait
	if i := s.inst; i != nil {
		i.mu.Lock()
		hints = i.hints
		i.mu.Unlock()
	}
	rows, err := s.pool.Query(ctx, s.cq.barrier, s.channel)
	if err != nil {
		return unavailable(ctx, err)
	}
	var n int64
	wait := make(map[string]bool)
	for rows.Next() {
		var b *int64
		var id string
		var acked int64
		if err := rows.Scan(&b, &id, &acked); err != nil {
			rows.Close()
			return unavailable(ctx, err)
		}
		if b == nil { // cannot happen: the clock has its row
			rows.Close()
			return errors.New("postgres: the cache's clock has no row")
		}
		n = *b
		if acked < n {
			wait[id] = true
		}
	}
	if err := rows.Err(); err != nil {
		return unavailable(ctx, err)
	}
	pollEvery := 5 * time.Millisecond
	for {
		var changed <-chan struct{}
		poll := false
		if i := s.inst; i != nil {
			i.mu.Lock()
			if wait[i.id] && i.heard >= n {
				delete(wait, i.id)
			}
			changed = i.changed
			if i.hints != hints {
				hints, poll = i.hints, true
			}
			i.mu.Unlock()
		}
		if len(wait) == 0 {
			return nil
		}
		if poll { // another instance acknowledged, or left: the table says which
			if err := s.pollInstances(ctx, wait, n); err != nil {
				return err
			}
			continue
		}
		t := time.NewTimer(pollEvery)
		select {
		case <-changed:
			t.Stop()
		case <-t.C:
			if err := s.pollInstances(ctx, wait, n); err != nil {
				return err
			}
			pollEvery = min(2*pollEvery, 50*time.Millisecond)
		case <-ctx.Done():
			t.Stop()
			return unavailable(ctx, ctx.Err())
		}
	}
}

// pollInstances removes from wait the instances the table shows need no
// more waiting for barrier n.
func (s *Store) pollInstances(ctx context.Context, wait map[string]bool, n int64) error {
	ids := make([]string, 0, len(wait))
	for id := range wait {
		ids = append(ids, id)
	}
	rows, err := s.pool.Query(ctx, s.cq.poll, ids, n)
	if err != nil {
		return unavailable(ctx, err)
	}
	still, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return unavailable(ctx, err)
	}
	clear(wait)
	for _, id := range still {
		wait[id] = true
	}
	return nil
}
