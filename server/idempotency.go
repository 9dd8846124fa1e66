package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/server/auth"
)

// Idempotency-Key on the unsafe requests of /api/v1.
//
// A client that may send a request twice (a retry after a timeout) names
// it with Idempotency-Key. The first request with a key (per caller) runs;
// its answer is stored for IdempotencyKeyTTL, and a request with the same
// key, method, path and body gets that answer again, with
// Idempotent-Replayed: true, without running. The same key with another
// body or route is a 422 naming Idempotency-Key; a request whose key's
// first request still runs is a 409 (a row in state "pending", inserted in
// its own statement before the request runs, so that concurrent duplicates
// cannot both run). A first request answered 5xx frees its key: the
// client may try again.
//
// The start route keeps its own mechanism (engine.StartParams.StartKey):
// the key is stored with the instance in the start's transaction, so even
// a crash between the commit and the answer cannot start a second
// instance, and concurrent duplicates all get the one instance (200)
// instead of a 409. Routes whose requests or answers carry credentials
// (sign-in, users with passwords, new API keys with their secret) keep no
// answers: a stored answer is a copy at rest.

const (
	// IdempotencyKeyTTL is how long a key's answer is kept and replayed.
	IdempotencyKeyTTL = 24 * time.Hour
	// idempotencyPendingMax is how long a pending key blocks its
	// duplicates; after it the request is taken to have died with its node.
	idempotencyPendingMax = 5 * time.Minute
	// idempotencyCleanupInterval is how often a server deletes expired keys.
	idempotencyCleanupInterval = 10 * time.Minute
	// idempotencyKeyMax is the longest key accepted.
	idempotencyKeyMax = 255
)

// idempotencyExempt lists the unsafe routes that keep no answers.
var idempotencyExempt = map[string]bool{
	"POST /api/v1/login":                              true,
	"POST /api/v1/logout":                             true,
	"POST /api/v1/process-definitions/key/:key/start": true,
	"POST /api/v1/admin/users":                        true,
	"PUT /api/v1/admin/users/:name":                   true,
	"POST /api/v1/admin/api-keys":                     true,
}

// idempotencyApplies reports whether a request's Idempotency-Key is
// handled by the idempotency middleware.
func (s *Server) idempotencyApplies(c echo.Context) bool {
	m := c.Request().Method
	if s.gdb == nil || m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions {
		return false
	}
	route := c.Path()
	return s.routes[route] && strings.HasPrefix(route, "/api/v1/") && !idempotencyExempt[m+" "+route]
}

func checkIdempotencyKey(key string) error {
	if len(key) > idempotencyKeyMax {
		return &engine.InvalidError{Field: HeaderIdempotencyKey, Reason: fmt.Sprintf("has %d characters, expected at most %d", len(key), idempotencyKeyMax)}
	}
	for i := 0; i < len(key); i++ {
		if key[i] < ' ' || key[i] > '~' {
			return &engine.InvalidError{Field: HeaderIdempotencyKey, Reason: "expected printable ASCII characters"}
		}
	}
	return nil
}

// idempotency runs the unsafe /api/v1 requests with an Idempotency-Key
// once per caller and key (see above).
func (s *Server) idempotency(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.Request().Header.Get(HeaderIdempotencyKey)
		if key == "" || !s.idempotencyApplies(c) {
			return next(c)
		}
		if err := checkIdempotencyKey(key); err != nil {
			return err
		}
		req := c.Request()
		body, err := io.ReadAll(req.Body)
		if err != nil {
			if tooLarge(err) {
				return err
			}
			return &badRequestError{msg: "read body: " + err.Error()}
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.Sum256(body)
		actor := ""
		if p := auth.PrincipalOf(c); p != nil {
			actor = p.Actor()
		}
		row := &idempotencyRow{Actor: actor, IdempotencyKey: key, Method: req.Method, Path: req.URL.RequestURI(),
			BodyHash: hex.EncodeToString(sum[:]), State: idemPending}
		// The key's rows outlive the request: a client that went away
		// still leaves its answer.
		ctx := context.WithoutCancel(req.Context())
		prior, err := s.idempotencyClaim(ctx, row)
		if err != nil {
			return err
		}
		if prior != nil {
			return s.idempotencyReplay(c, row, prior)
		}
		rec := &recorder{ResponseWriter: c.Response().Writer}
		c.Response().Writer = rec
		finished := false
		defer func() {
			if !finished { // a panic: free the key for the retry
				s.idempotencyRelease(ctx, c, row)
			}
		}()
		if err := next(c); err != nil {
			c.Error(err)
		}
		c.Response().Writer = rec.ResponseWriter
		finished = true
		if c.Response().Status >= 500 {
			s.idempotencyRelease(ctx, c, row)
		} else {
			s.idempotencyStore(ctx, c, row, rec)
		}
		return nil
	}
}

// idempotencyClaim inserts row as pending and returns nil when it is this
// request's to run; else the row that holds the key. Expired rows, and
// pending rows whose request died, give way.
func (s *Server) idempotencyClaim(ctx context.Context, row *idempotencyRow) (*idempotencyRow, error) {
	s.idempotencyCleanup(ctx)
	db := s.gdb.WithContext(ctx)
	for try := 0; ; try++ {
		// Microseconds: what PostgreSQL keeps, so that the row matches
		// its created_at when the answer is stored.
		now := s.now().UTC().Truncate(time.Microsecond)
		row.CreatedAt, row.ExpiresAt = now, now.Add(IdempotencyKeyTTL)
		res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(row)
		if res.Error != nil {
			return nil, sqlstore.Translate(res.Error, "store the Idempotency-Key")
		}
		if res.RowsAffected == 1 {
			return nil, nil
		}
		var prior idempotencyRow
		err := db.Where("actor = ? AND idempotency_key = ?", row.Actor, row.IdempotencyKey).Take(&prior).Error
		if errors.Is(err, gorm.ErrRecordNotFound) && try < 3 {
			continue // deleted meanwhile: try again
		}
		if err != nil {
			return nil, sqlstore.Translate(err, "read the Idempotency-Key")
		}
		stale := !prior.ExpiresAt.After(now) || prior.State == idemPending && now.Sub(prior.CreatedAt) > idempotencyPendingMax
		if !stale || try >= 3 {
			return &prior, nil
		}
		// Only the row read: a newer one another request put is kept.
		err = db.Where("actor = ? AND idempotency_key = ? AND state = ? AND created_at = ?",
			prior.Actor, prior.IdempotencyKey, prior.State, prior.CreatedAt).Delete(&idempotencyRow{}).Error
		if err != nil {
			return nil, sqlstore.Translate(err, "delete an expired Idempotency-Key")
		}
	}
}

// idempotencyReplay answers a request whose key a request before it holds.
func (s *Server) idempotencyReplay(c echo.Context, row, prior *idempotencyRow) error {
	if prior.Method != row.Method || prior.Path != row.Path {
		return &engine.InvalidError{Field: HeaderIdempotencyKey, Reason: fmt.Sprintf("%q was used for %s %s; use a new key for another request", row.IdempotencyKey, prior.Method, prior.Path)}
	}
	if prior.BodyHash != row.BodyHash {
		return &engine.InvalidError{Field: HeaderIdempotencyKey, Reason: fmt.Sprintf("%q was used with another body; use a new key for another request", row.IdempotencyKey)}
	}
	if prior.State == idemPending {
		return fmt.Errorf("%w: a request with this Idempotency-Key is in progress; try again when it has been answered", engine.ErrConflict)
	}
	c.Set(replayedKey, true)
	c.Response().Header().Set(HeaderIdempotentReplayed, "true")
	if len(prior.Body) == 0 {
		return c.NoContent(prior.Status)
	}
	return c.Blob(prior.Status, prior.ContentType, prior.Body)
}

// replayedKey marks a replayed answer on the echo.Context, so that the
// audit log does not count the change twice.
const replayedKey = "baton.idempotentReplay"

// idempotencyRows selects the row this request holds.
func (s *Server) idempotencyRows(ctx context.Context, row *idempotencyRow) *gorm.DB {
	return s.gdb.WithContext(ctx).Model(&idempotencyRow{}).
		Where("actor = ? AND idempotency_key = ? AND created_at = ?", row.Actor, row.IdempotencyKey, row.CreatedAt)
}

// idempotencyStore stores the answer of the request that held the key.
func (s *Server) idempotencyStore(ctx context.Context, c echo.Context, row *idempotencyRow, rec *recorder) {
	res := c.Response()
	err := s.idempotencyRows(ctx, row).Updates(map[string]any{"state": idemDone, "status": res.Status,
		"content_type": res.Header().Get(echo.HeaderContentType), "body": rec.body.Bytes()}).Error
	if err != nil {
		s.log.ErrorContext(ctx, "store the answer of an Idempotency-Key", "requestId", requestIDOf(c), "key", row.IdempotencyKey, "err", err)
	}
}

// idempotencyRelease frees the key of a request that failed (5xx, a
// panic): the client may send it again.
func (s *Server) idempotencyRelease(ctx context.Context, c echo.Context, row *idempotencyRow) {
	if err := s.idempotencyRows(ctx, row).Delete(&idempotencyRow{}).Error; err != nil {
		s.log.ErrorContext(ctx, "free an Idempotency-Key", "requestId", requestIDOf(c), "key", row.IdempotencyKey, "err", err)
	}
}

// idempotencyCleanup deletes expired keys, at most once an
// idempotencyCleanupInterval per server.
func (s *Server) idempotencyCleanup(ctx context.Context) {
	now := s.now().UTC()
	s.idemMu.Lock()
	due := now.Sub(s.idemCleaned) >= idempotencyCleanupInterval
	if due {
		s.idemCleaned = now
	}
	s.idemMu.Unlock()
	if !due {
		return
	}
	if err := s.gdb.WithContext(ctx).Where("expires_at < ?", now).Delete(&idempotencyRow{}).Error; err != nil {
		s.log.ErrorContext(ctx, "delete expired Idempotency-Keys", "err", err)
	}
}

// recorder passes an answer through and keeps a copy of its body, or of
// its first limit bytes when limit is set.
type recorder struct {
	http.ResponseWriter
	body  bytes.Buffer
	limit int
}

func (r *recorder) Write(b []byte) (int, error) {
	keep := b
	if r.limit > 0 {
		keep = b[:min(len(b), max(0, r.limit-r.body.Len()))]
	}
	r.body.Write(keep)
	return r.ResponseWriter.Write(b)
}

// Flush implements http.Flusher when the writer does.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack implements http.Hijacker when the writer does.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := r.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("the response writer cannot be hijacked")
}

// Unwrap returns the writer wrapped, for http.ResponseController.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
