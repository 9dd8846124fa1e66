package server

import (
	"strconv"
	"testing"
	"time"
)

// TestLimiterBounded: a limiter holds at most bucketsMax buckets; past it
// the least recently used half goes, and the newest stay limited.
func TestLimiterBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	l := newLimiter(RateLimit{PerSecond: 1, Burst: 1}, func() time.Time { return now })
	for i := range bucketsMax {
		if i%1000 == 0 {
			now = now.Add(time.Millisecond) // within a sweep interval
		}
		l.take("k" + strconv.Itoa(i))
	}
	if n := l.size(); n != bucketsMax {
		t.Fatalf("%d buckets, want %d", n, bucketsMax)
	}
	now = now.Add(time.Millisecond)
	if ok, _ := l.take("one-more"); !ok {
		t.Fatal("a new key was refused")
	}
	if n := l.size(); n > bucketsMax/2+1 {
		t.Fatalf("%d buckets after the cap was reached, want at most %d", n, bucketsMax/2+1)
	}
	last := "k" + strconv.Itoa(bucketsMax-1)
	if ok, wait := l.take(last); ok || wait <= 0 {
		t.Fatalf("the most recent key %s lost its bucket: %v %s", last, ok, wait)
	}
}
