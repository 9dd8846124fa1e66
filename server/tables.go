package server

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/batonbpm/baton/migrations"
)

// The server's own tables (migration 0016): idempotency_keys and
// audit_log, read and written through gorm over Config.DB.

// gormOf returns a gorm handle on the pool db of dialect.
func gormOf(db *sql.DB, dialect string) (*gorm.DB, error) {
	var d gorm.Dialector
	switch dialect {
	case migrations.Postgres:
		d = postgres.New(postgres.Config{Conn: db})
	case migrations.SQLite:
		d = &sqlite.Dialector{Conn: db}
	default:
		return nil, fmt.Errorf("server: dialect %q, expected %q or %q", dialect, migrations.Postgres, migrations.SQLite)
	}
	g, err := gorm.Open(d, &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true})
	if err != nil {
		return nil, fmt.Errorf("server: open the database with gorm: %w", err)
	}
	return g, nil
}

// Idempotency-Key states.
const (
	idemPending = "pending" // the first request runs
	idemDone    = "done"    // its answer is stored
)

// idempotencyRow is a row of idempotency_keys.
type idempotencyRow struct {
	Actor          string `gorm:"primaryKey"`
	IdempotencyKey string `gorm:"primaryKey"`
	Method         string
	Path           string
	BodyHash       string
	State          string
	Status         int
	ContentType    string
	Body           []byte
	CreatedAt      time.Time
	ExpiresAt      time.Time
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

// auditRow is a row of audit_log.
type auditRow struct {
	ID        int64
	At        time.Time
	Actor     string
	Action    string
	Target    string
	RequestID string
	Address   string
	Status    int
}

func (auditRow) TableName() string { return "audit_log" }
