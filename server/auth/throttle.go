package auth

import (
	"sync"
	"time"
)

// throttle counts failed attempts per key ("name:ann", "addr:10.0.0.1").
// Once a key has failed max times, each further attempt must wait delay ×
// 2^(failures-max) (capped at ThrottleDelayMax) after the last failure. A
// key is forgotten after a quiet ThrottleDelayMax, or on success.
type throttle struct {
	max   int
	delay time.Duration
	now   func() time.Time

	mu   sync.Mutex
	keys map[string]*failures
}

type failures struct {
	n    int
	last time.Time
}

func newThrottle(max int, delay time.Duration, now func() time.Time) *throttle {
	return &throttle{max: max, delay: delay, now: now, keys: map[string]*failures{}}
}

func (t *throttle) wait(f *failures) time.Duration {
	if f.n < t.max {
		return 0
	}
	d := t.delay
	for i := t.max; i < f.n && d < ThrottleDelayMax; i++ {
		d *= 2
	}
	return min(d, ThrottleDelayMax)
}

// check returns the longest wait left of keys, 0 when they may try now.
func (t *throttle) check(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var left time.Duration
	for _, k := range keys {
		f := t.keys[k]
		if f == nil {
			continue
		}
		if now.Sub(f.last) > ThrottleDelayMax+t.wait(f) {
			delete(t.keys, k)
			continue
		}
		left = max(left, f.last.Add(t.wait(f)).Sub(now))
	}
	return left
}

// fail records a failure of every key.
func (t *throttle) fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.keys) > 100000 { // bound memory under a spray of names
		for k, f := range t.keys {
			if now.Sub(f.last) > ThrottleDelayMax {
				delete(t.keys, k)
			}
		}
	}
	for _, k := range keys {
		f := t.keys[k]
		if f == nil {
			f = &failures{}
			t.keys[k] = f
		}
		f.n++
		f.last = now
	}
}

// succeed forgets the failures of keys.
func (t *throttle) succeed(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.keys, k)
	}
}
