package engine

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A cursor names the last row of a page, so that the next page starts after
// it (keyset paging: no row is skipped or repeated when rows are added
// between pages, and a page costs an index seek, not an offset scan).
// Cursors are opaque to clients: base64url of "t:<unix nanoseconds>:<id>"
// for lists in time order, "k:<version>:<key>" for definitions, and
// "d:<due unix nanoseconds, or ->:<id>" or "p:<priority>:<id>" for task
// lists sorted by due date or priority (see TaskCursor).

// CursorKey is a decoded cursor: the sort key of the row it names.
type CursorKey struct {
	// Time and ID for lists ordered by time of creation.
	Time time.Time
	ID   int64
	// Key and Version for process definitions.
	Key     string
	Version int
	// Sort is set by the cursors of TaskCursor for TaskSortDue (Time is
	// the due date, or NoDue) and TaskSortPriority (Priority).
	Sort     TaskSort
	Priority int
	NoDue    bool
}

// Cursor returns the cursor that continues a list after row, which is one
// of *Deployment, *Definition, *Instance, *UserTask, *Job or *Incident.
// Other values give "".
func Cursor(row any) string {
	var raw string
	switch r := row.(type) {
	case *Deployment:
		raw = timeCursor(r.CreatedAt, r.ID)
	case *Definition:
		raw = "k:" + strconv.Itoa(r.Version) + ":" + r.Key
	case *Instance:
		raw = timeCursor(r.StartedAt, r.ID)
	case *UserTask:
		raw = timeCursor(r.CreatedAt, r.ID)
	case *Job:
		raw = timeCursor(r.CreatedAt, r.ID)
	case *Incident:
		raw = timeCursor(r.CreatedAt, r.ID)
	default:
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func timeCursor(t time.Time, id int64) string {
	// Stores keep microseconds: a cursor with more would not match its row.
	return "t:" + strconv.FormatInt(t.UTC().Truncate(time.Microsecond).UnixNano(), 10) + ":" + strconv.FormatInt(id, 10)
}

// ParseCursor decodes a cursor made by Cursor. A malformed one is an
// *InvalidError naming the "after" parameter.
func ParseCursor(s string) (CursorKey, error) {
	bad := func(why string) (CursorKey, error) {
		return CursorKey{}, &InvalidError{Field: "after", Reason: fmt.Sprintf("%q is not a page cursor (%s); pass the next value of the previous page", s, why)}
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad("not base64url")
	}
	kind, rest, _ := strings.Cut(string(b), ":")
	a, c, ok := strings.Cut(rest, ":")
	if !ok {
		return bad("too short")
	}
	switch kind {
	case "t":
		ns, err1 := strconv.ParseInt(a, 10, 64)
		id, err2 := strconv.ParseInt(c, 10, 64)
		if err1 != nil || err2 != nil {
			return bad("bad numbers")
		}
		return CursorKey{Time: time.Unix(0, ns).UTC(), ID: id}, nil
	case "d":
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			return bad("bad id")
		}
		if a == "-" {
			return CursorKey{Sort: TaskSortDue, NoDue: true, ID: id}, nil
		}
		ns, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return bad("bad due date")
		}
		return CursorKey{Sort: TaskSortDue, Time: time.Unix(0, ns).UTC(), ID: id}, nil
	case "p":
		prio, err1 := strconv.Atoi(a)
		id, err2 := strconv.ParseInt(c, 10, 64)
		if err1 != nil || err2 != nil {
			return bad("bad numbers")
		}
		return CursorKey{Sort: TaskSortPriority, Priority: prio, ID: id}, nil
	case "k":
		v, err := strconv.Atoi(a)
		if err != nil {
			return bad("bad version")
		}
		return CursorKey{Key: c, Version: v}, nil
	}
	return bad("unknown kind")
}
