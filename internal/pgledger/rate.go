package pgledger

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// TenantRate is a token bucket shared by every worker of a tenant
// (--tenant-rate), kept in one row of the ledger's database. Its Wait is
// rate.Limiter's, so the submitter waits on either alike.
//
// A worker takes tokens from the row in chunks of a twentieth of a second's
// worth (at least one), and spends each chunk locally at the full rate; when
// the row holds fewer tokens than a chunk, the worker takes the chunk anyway,
// leaving a debt, and waits until the debt is paid at the rate. So:
//
//   - over any interval of T seconds, all workers together pass at most
//     rate·T + burst + N·chunk requests, N being the workers holding a chunk;
//   - when every worker is busy, together they pass about rate·T: they only
//     lose the tokens of chunks left unspent when a worker stops (at most one
//     chunk each);
//   - a worker joining or leaving changes no one's share, and workers with
//     little to send leave their share to the others;
//   - one database round trip per chunk and worker: 20 a second each at most.
//
// The row's clock is the database's, so hosts need not agree on the time.
// Workers given different rates each refill the row at their own when they
// take a chunk: give them all the same.
type TenantRate struct {
	store *Store
	rate  float64
	burst int
	chunk int

	mu    sync.Mutex
	local int           // tokens taken and not spent
	pace  *rate.Limiter // spends them at the rate, at most a chunk at once
}

// TenantRate returns the shared bucket of perSecond requests per second and
// the given burst (the tokens the row holds at most; below 1 means 1).
func (s *Store) TenantRate(perSecond float64, burst int) *TenantRate {
	burst = max(burst, 1)
	chunk := max(1, min(burst, int(math.Round(perSecond/20))))
	return &TenantRate{
		store: s,
		rate:  perSecond,
		burst: burst,
		chunk: chunk,
		// A chunk's worth of burst: the time spent taking a chunk from
		// the row is made up after it, not lost.
		pace: rate.NewLimiter(rate.Limit(perSecond), chunk),
	}
}

// Wait blocks until the tenant's rate allows one more request, or ctx is
// done. Tokens taken from the row for a request that ctx then cancels are
// lost to everyone.
func (l *TenantRate) Wait(ctx context.Context) error {
	if err := l.token(ctx); err != nil {
		return err
	}
	// Not under mu: the pace schedules every waiter's slot at once, so
	// their sleeps overlap. One after another, each sleep's lateness (a
	// busy machine wakes a timer a millisecond late) added up, and one
	// worker passed half its rate.
	if err := l.pace.Wait(ctx); err != nil {
		if ctx.Err() == nil {
			// The next slot comes after ctx's deadline (submit.Limiter).
			return fmt.Errorf("%w: %v", context.DeadlineExceeded, err)
		}
		return err
	}
	return nil
}

// token takes one token of the local chunk, first taking a chunk from the
// row when it is spent, and waiting until its debt is paid.
func (l *TenantRate) token(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.local == 0 {
		debt, err := l.take(ctx)
		if err != nil {
			return err
		}
		if debt > 0 {
			t := time.NewTimer(time.Duration(debt / l.rate * float64(time.Second)))
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		l.local = l.chunk
	}
	l.local--
	return nil
}

// take takes a chunk from the row, refilled at the rate since it was last
// taken from, and returns the debt (tokens below zero) it left.
func (l *TenantRate) take(ctx context.Context) (float64, error) {
	if l.store.closed.Load() {
		return 0, fmt.Errorf("the tenant rate of %s: the ledger is closed", l.store.url)
	}
	var tokens float64
	err := l.store.pool.QueryRow(ctx, `INSERT INTO tenant_rate (id, tokens, updated) VALUES (true, $1::float8 - $2::float8, clock_timestamp())
		ON CONFLICT (id) DO UPDATE SET
			tokens = least($1::float8, tenant_rate.tokens + $3::float8 * extract(epoch FROM clock_timestamp() - tenant_rate.updated)::float8) - $2::float8,
			updated = clock_timestamp()
		RETURNING tokens`, float64(l.burst), float64(l.chunk), l.rate).Scan(&tokens)
	if err != nil {
		return 0, fmt.Errorf("the tenant rate of %s: %w", l.store.url, err)
	}
	return max(0, -tokens), nil
}
