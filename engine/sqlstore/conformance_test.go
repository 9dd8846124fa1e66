package sqlstore_test

import (
	"testing"

	"gorm.io/gorm"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/engine/sqlstore/dbtest"
)

// dialects are the databases every store test runs on.
var dialects = []struct {
	name string
	db   func(testing.TB) *gorm.DB
}{
	{"SQLite", dbtest.SQLite},
	{"Postgres", dbtest.Postgres},
}

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			enginetest.RunConformance(t, func(t *testing.T) engine.Store { return sqlstore.New(d.db(t)) })
		})
	}
}
