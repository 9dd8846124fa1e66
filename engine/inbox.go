package engine

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"time"
)

// The inbox: UserTaskListParams filter and sort user tasks for people.

// TaskSort is the order of a user task list.
type TaskSort string

// Task sorts. Every order ends with the id, so that it is total and keyset
// paging neither skips nor repeats a task.
const (
	// TaskSortCreated orders by time of creation (the default).
	TaskSortCreated TaskSort = "created"
	// TaskSortDue orders by due date, tasks without one last (first when
	// descending).
	TaskSortDue TaskSort = "due"
	// TaskSortPriority orders by priority.
	TaskSortPriority TaskSort = "priority"
)

// TaskSorts lists the task sorts.
var TaskSorts = []TaskSort{TaskSortCreated, TaskSortDue, TaskSortPriority}

// VariableEquals selects tasks whose instance has the process variable
// Name equal to Value: a string, int64, float64, bool or nil. The
// comparison is typed: a string never equals a number ("5" is not 5);
// numbers compare by value (5 equals 5.0).
type VariableEquals struct {
	Name  string
	Value any
}

// VariableValueEqual reports whether a stored variable value equals a
// VariableEquals value, as stores compare them.
func VariableValueEqual(stored, want any) bool {
	num := func(v any) (float64, bool) {
		switch x := v.(type) {
		case int64:
			return float64(x), true
		case float64:
			return x, !math.IsNaN(x)
		}
		return 0, false
	}
	if a, ok := num(stored); ok {
		b, ok := num(want)
		return ok && a == b
	}
	switch x := stored.(type) {
	case nil:
		return want == nil
	case string:
		y, ok := want.(string)
		return ok && x == y
	case bool:
		y, ok := want.(bool)
		return ok && x == y
	}
	return false
}

// TaskCursor returns the cursor that continues a task list in order sort
// after t. For TaskSortCreated it is Cursor(t).
func TaskCursor(t *UserTask, sort TaskSort) string {
	var raw string
	switch sort {
	case TaskSortDue:
		due := "-"
		if t.DueDate != nil {
			due = strconv.FormatInt(t.DueDate.UTC().Truncate(time.Microsecond).UnixNano(), 10)
		}
		raw = "d:" + due + ":" + strconv.FormatInt(t.ID, 10)
	case TaskSortPriority:
		raw = "p:" + strconv.Itoa(t.Priority) + ":" + strconv.FormatInt(t.ID, 10)
	default:
		return Cursor(t)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// TaskCursorKey decodes a cursor of TaskCursor for sort. A malformed one,
// or one of another sort, is an *InvalidError naming "after".
func TaskCursorKey(s string, sort TaskSort) (CursorKey, error) {
	k, err := ParseCursor(s)
	if err != nil {
		return k, err
	}
	if cmp.Or(k.Sort, TaskSortCreated) != cmp.Or(sort, TaskSortCreated) || k.Key != "" {
		return k, &InvalidError{Field: "after", Reason: fmt.Sprintf("%q is not a cursor of a task list sorted by %s; pass the next value of the previous page", s, cmp.Or(sort, TaskSortCreated))}
	}
	return k, nil
}

// CompareTasks compares a and b in the order of sort, reversed when desc:
// the order of UserTaskList. Times compare at the microseconds stores keep.
func CompareTasks(a, b *UserTask, sort TaskSort, desc bool) int {
	micro := func(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
	var c int
	switch sort {
	case TaskSortDue:
		switch {
		case a.DueDate == nil && b.DueDate == nil:
		case a.DueDate == nil:
			c = 1
		case b.DueDate == nil:
			c = -1
		default:
			c = micro(*a.DueDate).Compare(micro(*b.DueDate))
		}
	case TaskSortPriority:
		c = cmp.Compare(a.Priority, b.Priority)
	default:
		c = micro(a.CreatedAt).Compare(micro(b.CreatedAt))
	}
	c = cmp.Or(c, cmp.Compare(a.ID, b.ID))
	if desc {
		return -c
	}
	return c
}

// CursorTask returns a task with the sort key of k, to compare rows with
// CompareTasks.
func CursorTask(k CursorKey) *UserTask {
	t := &UserTask{ID: k.ID, CreatedAt: k.Time, Priority: k.Priority}
	if k.Sort == TaskSortDue && !k.NoDue {
		d := k.Time
		t.DueDate = &d
	}
	return t
}
