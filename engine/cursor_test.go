package engine_test

import (
	"errors"
	"testing"
	"time"

	"github.com/batonbpm/baton/engine"
)

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("x", 3600))
	got, err := engine.ParseCursor(engine.Cursor(&engine.Instance{ID: 42, StartedAt: at}))
	if err != nil || got.ID != 42 || !got.Time.Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("instance cursor: %+v %v", got, err)
	}
	got, err = engine.ParseCursor(engine.Cursor(&engine.Definition{Key: "order:v2", Version: 7}))
	if err != nil || got.Key != "order:v2" || got.Version != 7 {
		t.Fatalf("definition cursor: %+v %v", got, err)
	}
	if c := engine.Cursor("not a row"); c != "" {
		t.Fatalf("cursor of a string: %q", c)
	}
	for _, bad := range []string{"!!!", "dDox", "eDoxOjI", "dDpYOjE"} {
		if _, err := engine.ParseCursor(bad); !errors.Is(err, engine.ErrInvalid) {
			t.Fatalf("ParseCursor(%q): %v, want ErrInvalid", bad, err)
		}
	}
}
