package enginetest_test

import (
	"testing"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

func TestMemStoreConformance(t *testing.T) {
	enginetest.RunConformance(t, func(t *testing.T) engine.Store { return enginetest.NewMemStore() })
}
