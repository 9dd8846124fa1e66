package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// servedBaton is a `baton serve` process a test started: this test binary
// run again as baton (see TestMain), on a free port.
type servedBaton struct {
	t   *testing.T
	URL string
	cmd *exec.Cmd
	// Stdout is what the process printed.
	Stdout syncBuffer

	mu     sync.Mutex
	logs   bytes.Buffer // stderr, the last MiB
	exited chan struct{}
	err    error // of cmd.Wait, once exited is closed
}

// serveBaton starts `baton serve --addr 127.0.0.1:0 --log-format json
// ARGS` on dbURL, with env added to the environment, and returns once
// /readyz answers 200; the process is killed at cleanup.
func serveBaton(t *testing.T, dbURL string, env []string, args ...string) *servedBaton {
	t.Helper()
	all, _ := json.Marshal(append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}, args...))
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), "BATON_SERVE_HELPER=1", "BATON_SERVE_ARGS="+string(all), "BATON_DATABASE_URL="+dbURL), env...)
	s := &servedBaton{t: t, cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout = &s.Stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Kill)
	urlCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		re := regexp.MustCompile(`"url":"(http://[^"]+)"`)
		for sc.Scan() {
			s.mu.Lock()
			s.logs.WriteString(sc.Text() + "\n")
			if s.logs.Len() > 1<<20 {
				s.logs.Next(s.logs.Len() - 1<<19)
			}
			s.mu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urlCh <- m[1]:
				default:
				}
			}
		}
		s.err = cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.URL = <-urlCh:
	case <-s.exited:
		t.Fatalf("baton serve exited before listening: %v\n%s", s.err, s.Logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("baton serve did not listen\n%s", s.Logs())
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(s.URL + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never answered 200: %v\n%s", err, s.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Logs returns what the process logged lately (its last MiB).
func (s *servedBaton) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// LogTail returns the last 6,000 bytes of the log, for failure messages.
func (s *servedBaton) LogTail() string {
	l := s.Logs()
	if len(l) > 6000 {
		l = l[len(l)-6000:]
	}
	return l
}

// Terminate sends SIGTERM.
func (s *servedBaton) Terminate() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
}

// Wait waits up to d for the process to exit and returns its exit error;
// the test fails when it does not exit in time.
func (s *servedBaton) Wait(d time.Duration) error {
	s.t.Helper()
	select {
	case <-s.exited:
		return s.err
	case <-time.After(d):
		s.t.Fatalf("baton serve did not exit within %s\n%s", d, s.LogTail())
		return nil
	}
}

// Kill kills the process unless it has exited, and waits for it.
func (s *servedBaton) Kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Kill()
	<-s.exited
}

// syncBuffer is a bytes.Buffer that a process writes while a test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
