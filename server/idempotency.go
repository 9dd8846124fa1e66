package server

import (
	"container/list"
	"context"
	"sync"
)

// HeaderIdempotencyKey names a start request: a start with a key already
// seen returns the instance the first one started.
const HeaderIdempotencyKey = "Idempotency-Key"

// idempotency remembers which instance each Idempotency-Key started, in
// memory and for the most recent keys only (an LRU of max entries). It
// holds for one server process: several nodes need a table in the database.
type idempotency struct {
	mu      sync.Mutex
	max     int
	entries map[string]*idemEntry
	lru     *list.List // of *idemEntry, most recent first
}

// idemEntry is a key's start: done closes when it has finished; ok tells
// that it started instance id.
type idemEntry struct {
	key  string
	done chan struct{}
	id   int64
	ok   bool
	elem *list.Element
}

func newIdempotency(max int) *idempotency {
	return &idempotency{max: max, entries: map[string]*idemEntry{}, lru: list.New()}
}

// begin returns the entry of key. When lead is true the caller runs the
// start and must call finish; otherwise the entry's start has succeeded
// and its id is the instance. A start of the same key running
// concurrently is waited for; one that failed leaves the key free again.
func (m *idempotency) begin(ctx context.Context, key string) (e *idemEntry, lead bool, err error) {
	for {
		m.mu.Lock()
		e, found := m.entries[key]
		if !found {
			e = &idemEntry{key: key, done: make(chan struct{})}
			m.entries[key] = e
			e.elem = m.lru.PushFront(e)
			for m.lru.Len() > m.max {
				old := m.lru.Remove(m.lru.Back()).(*idemEntry)
				delete(m.entries, old.key)
			}
			m.mu.Unlock()
			return e, true, nil
		}
		m.lru.MoveToFront(e.elem)
		m.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
		if e.ok {
			return e, false, nil
		}
	}
}

// finish records the outcome of a leader's start: the instance id, or a
// failure that frees the key.
func (m *idempotency) finish(e *idemEntry, id int64, ok bool) {
	m.mu.Lock()
	e.id, e.ok = id, ok
	if !ok && m.entries[e.key] == e {
		delete(m.entries, e.key)
		m.lru.Remove(e.elem)
	}
	m.mu.Unlock()
	close(e.done)
}
