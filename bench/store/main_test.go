package main

import (
	"testing"
	"time"
)

func TestParsePgbench(t *testing.T) {
	t.Parallel()
	// The report of pgbench 15.
	out := []byte(`transaction type: bench/pgbench/straight.sql
scaling factor: 1
query mode: simple
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 10 s
number of transactions actually processed: 17012
number of failed transactions: 0 (0.000%)
latency average = 4.701 ms
initial connection time = 12.345 ms
tps = 1701.816436 (without initial connection time)
`)
	r, err := parsePgbench(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.tps != 1701.816436 || r.transactions != 17012 || r.latencyMS != 4.701 {
		t.Fatalf("got %+v, want tps 1701.816436, 17012 transactions, latency 4.701 ms", r)
	}

	t.Run("FailedTransactions", func(t *testing.T) {
		t.Parallel()
		bad := []byte("number of transactions actually processed: 10\nnumber of failed transactions: 3 (23.077%)\ntps = 1.0 (without initial connection time)\n")
		if _, err := parsePgbench(bad); err == nil {
			t.Fatal("expected an error for failed transactions")
		}
	})
	t.Run("NoTPS", func(t *testing.T) {
		t.Parallel()
		if _, err := parsePgbench([]byte("pgbench: error: connection to server failed\n")); err == nil {
			t.Fatal("expected an error without a tps line")
		}
	})
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.50, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		if got := percentile(lat, tc.q); got != tc.want {
			t.Errorf("percentile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := percentile([]time.Duration{7}, 0.99); got != 7 {
		t.Errorf("percentile of one = %v, want 7ns", got)
	}
}
