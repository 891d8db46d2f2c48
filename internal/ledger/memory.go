package ledger

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Memory is a Store kept in memory, for tests of code that uses a Store. It
// follows the same rules as DB but forgets everything when the process ends.
// The zero value is ready to use.
type Memory struct {
	// Now gives the time of Begin when Attempt.Started is zero; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	seq     uint64
	entries map[string]*Entry
}

var _ Store = (*Memory)(nil)

// Lookup implements Store.
func (m *Memory) Lookup(ctx context.Context, activity string) (Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[activity]
	if !ok {
		return Entry{Activity: activity}, nil
	}
	return cloneEntry(e), nil
}

// LookupAll implements Store.
func (m *Memory) LookupAll(ctx context.Context, activities []string) ([]Entry, error) {
	es := make([]Entry, len(activities))
	for i, a := range activities {
		es[i], _ = m.Lookup(ctx, a)
	}
	return es, nil
}

// Begin implements Store.
func (m *Memory) Begin(ctx context.Context, a Attempt) (Ticket, error) {
	if err := ctx.Err(); err != nil {
		return Ticket{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = make(map[string]*Entry)
	}
	e := m.entries[a.Activity]
	if e == nil {
		e = &Entry{}
	}
	m.seq++
	a.Seq = m.seq
	if a.Started.IsZero() {
		a.Started = now(m.Now)
	}
	if err := addAttempt(e, a); err != nil {
		return Ticket{}, err
	}
	m.entries[a.Activity] = e
	return Ticket{Activity: a.Activity, Seq: a.Seq}, nil
}

// Finish implements Store. It records the outcome even when ctx is done: an
// answer received must not be forgotten because the run is stopping.
func (m *Memory) Finish(ctx context.Context, t Ticket, o Outcome) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[t.Activity]
	if e == nil {
		e = &Entry{Activity: t.Activity}
	}
	if o.Finished.IsZero() {
		o.Finished = now(m.Now)
	}
	return setOutcome(e, t.Seq, o)
}

// BeginAll implements Store; it records all or none.
func (m *Memory) BeginAll(ctx context.Context, as []Attempt) ([]Ticket, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, a := range as {
		if err := a.Validate(); err != nil {
			return nil, err
		}
	}
	ts := make([]Ticket, len(as))
	for i, a := range as {
		t, err := m.Begin(ctx, a)
		if err != nil {
			return nil, err
		}
		ts[i] = t
	}
	return ts, nil
}

// FinishAll implements Store.
func (m *Memory) FinishAll(ctx context.Context, fs []Finished) error {
	var bad []error
	for _, f := range fs {
		if err := m.Finish(ctx, f.Ticket, f.Outcome); err != nil {
			bad = append(bad, err)
		}
	}
	return errors.Join(bad...)
}

func cloneEntry(e *Entry) Entry {
	c := Entry{Activity: e.Activity, Attempts: make([]Attempt, len(e.Attempts))}
	copy(c.Attempts, e.Attempts)
	for i := range c.Attempts {
		if o := c.Attempts[i].Outcome; o != nil {
			oc := *o
			c.Attempts[i].Outcome = &oc
		}
	}
	return c
}

func now(f func() time.Time) time.Time {
	if f == nil {
		return time.Now().UTC()
	}
	return f().UTC()
}
