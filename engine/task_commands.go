package engine

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// The user task lifecycle: claim, unclaim, assign, delegate, resolve and
// comment, after Camunda 7's TaskService. Each is a command on the task's
// instance that writes a history event with the command's actor (see
// WithCommandInfo). The engine checks the task's state; who may call which
// command (a manager assigns, a caller sees the task) is the caller's
// business, e.g. the server's.

// DelegationState tells where a delegated task stands.
type DelegationState string

// Delegation states: empty for a task never delegated.
const (
	// DelegationPending: the task was delegated and waits for the delegate
	// to resolve it; it cannot be completed meanwhile.
	DelegationPending DelegationState = "pending"
	// DelegationResolved: the delegate resolved it and the owner has it back.
	DelegationResolved DelegationState = "resolved"
)

// Comment is a note a person left on a user task.
type Comment struct {
	ID         int64
	TaskID     int64
	InstanceID int64
	// Author is the actor of the command that added it.
	Author    string
	Text      string
	CreatedAt time.Time
}

// CommentMaxLen is the longest comment text accepted, in characters.
const CommentMaxLen = 10000

// taskCommand runs fn as command name on the open user task taskID. A task
// that is not open is a ConflictError; an unknown one ErrNotFound.
func (e *Engine) taskCommand(ctx context.Context, name string, taskID int64, fn func(c *cmd, ei *ElementInstance, t *UserTask) error) error {
	t, err := e.store.UserTaskGet(ctx, taskID)
	if err != nil {
		return fmt.Errorf("%s task %d: %w", name, taskID, err)
	}
	if t.State != TaskCreated {
		return fmt.Errorf("%s task %d: %w", name, taskID, &ConflictError{Reason: fmt.Sprintf("user task %d is already %s", taskID, t.State)})
	}
	err = e.onInstance(ctx, name, t.InstanceID, func(c *cmd) error {
		var task *UserTask
		for _, x := range c.tasks {
			if x.ID == taskID {
				task = x
			}
		}
		if task == nil || task.State != TaskCreated {
			return &ConflictError{Reason: fmt.Sprintf("user task %d is already %s", taskID, endedState(t))}
		}
		ei := c.eiByID(task.ElementInstanceID)
		if ei == nil || ei.State != ElementActivated {
			return &ConflictError{Reason: fmt.Sprintf("user task %d: its element is not waiting", taskID)}
		}
		return fn(c, ei, task)
	})
	if err != nil {
		return fmt.Errorf("%s task %d: %w", name, taskID, err)
	}
	return nil
}

// checkUser refuses an empty or overlong user name.
func checkUser(field, user string) error {
	switch {
	case strings.TrimSpace(user) == "":
		return &InvalidError{Field: field, Reason: "must name a user"}
	case len(user) > 255:
		return &InvalidError{Field: field, Reason: "is longer than 255 bytes"}
	}
	return nil
}

// Claim makes user the assignee of an open task. Claiming a task assigned
// to someone else is ErrConflict (unclaim or assign it first); claiming
// one's own task again changes nothing.
func (e *Engine) Claim(ctx context.Context, taskID int64, user string) error {
	if err := checkUser("user", user); err != nil {
		return err
	}
	return e.taskCommand(ctx, "claimUserTask", taskID, func(c *cmd, ei *ElementInstance, t *UserTask) error {
		switch t.Assignee {
		case user:
			return nil
		case "":
		default:
			return &ConflictError{Reason: fmt.Sprintf("user task %d is already claimed by %s", taskID, t.Assignee)}
		}
		t.Assignee, t.dirty = user, true
		c.record(ei, EventUserTaskClaimed, user)
		return nil
	})
}

// Unclaim removes the assignee of an open task, which goes back to its
// candidates. A task delegated and not yet resolved is ErrConflict.
func (e *Engine) Unclaim(ctx context.Context, taskID int64) error {
	return e.taskCommand(ctx, "unclaimUserTask", taskID, func(c *cmd, ei *ElementInstance, t *UserTask) error {
		if t.Delegation == DelegationPending {
			return &ConflictError{Reason: fmt.Sprintf("user task %d is delegated to %s; it must be resolved first", taskID, t.Assignee)}
		}
		if t.Assignee == "" {
			return nil
		}
		t.Assignee, t.dirty = "", true
		c.record(ei, EventUserTaskUnclaimed, "")
		return nil
	})
}

// Assign makes user the assignee of an open task, whoever had it; an empty
// user unassigns it. The engine does not check who may assign (the server
// allows managers and admins).
func (e *Engine) Assign(ctx context.Context, taskID int64, user string) error {
	if user != "" {
		if err := checkUser("assignee", user); err != nil {
			return err
		}
	}
	return e.taskCommand(ctx, "assignUserTask", taskID, func(c *cmd, ei *ElementInstance, t *UserTask) error {
		if t.Assignee == user {
			return nil
		}
		t.Assignee, t.dirty = user, true
		c.record(ei, EventUserTaskAssigned, user)
		return nil
	})
}

// Delegate hands an open task to user, who works it and resolves it (see
// Resolve); the owner keeps ownership: the assignee it had, else the actor.
// The delegation is pending until resolved. A task without assignee nor
// actor has no owner to return to and is ErrInvalid.
func (e *Engine) Delegate(ctx context.Context, taskID int64, to string) error {
	if err := checkUser("to", to); err != nil {
		return err
	}
	return e.taskCommand(ctx, "delegateUserTask", taskID, func(c *cmd, ei *ElementInstance, t *UserTask) error {
		owner := t.Owner
		if t.Delegation != DelegationPending {
			owner = cmp.Or(t.Assignee, c.info.Actor)
		}
		if owner == "" {
			return &InvalidError{Field: "to", Reason: fmt.Sprintf("user task %d has no assignee to return to once resolved; claim it first", taskID)}
		}
		t.Owner, t.Assignee, t.Delegation, t.dirty = owner, to, DelegationPending, true
		c.record(ei, EventUserTaskDelegated, to)
		return nil
	})
}

// Resolve ends the pending delegation of an open task: the owner is its
// assignee again. A task that is not delegated is ErrConflict.
func (e *Engine) Resolve(ctx context.Context, taskID int64) error {
	return e.taskCommand(ctx, "resolveUserTask", taskID, func(c *cmd, ei *ElementInstance, t *UserTask) error {
		if t.Delegation != DelegationPending {
			return &ConflictError{Reason: fmt.Sprintf("user task %d is not delegated; there is nothing to resolve", taskID)}
		}
		t.Assignee, t.Delegation, t.dirty = t.Owner, DelegationResolved, true
		c.record(ei, EventUserTaskResolved, t.Owner)
		return nil
	})
}

// AddComment adds a comment by the command's actor to an open task and
// returns it. An empty text, or one longer than CommentMaxLen, is
// ErrInvalid; a task that is not open is ErrConflict.
func (e *Engine) AddComment(ctx context.Context, taskID int64, text string) (*Comment, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return nil, &InvalidError{Field: "text", Reason: "must not be empty"}
	case utf8.RuneCountInString(text) > CommentMaxLen:
		return nil, &InvalidError{Field: "text", Reason: fmt.Sprintf("is longer than %d characters", CommentMaxLen)}
	}
	var out *Comment
	err := e.taskCommand(ctx, "commentUserTask", taskID, func(c *cmd, ei *ElementInstance, t *UserTask) error {
		id, err := c.newID()
		if err != nil {
			return err
		}
		cm := &Comment{ID: id, TaskID: t.ID, InstanceID: t.InstanceID, Author: c.info.Actor, Text: text, CreatedAt: c.now}
		if err := c.tx.CommentAdd(c.ctx, cm); err != nil {
			return err
		}
		c.record(ei, EventUserTaskCommented, fmt.Sprint(id))
		out = cm
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// endedState names the end state of a task that is no longer open, as far
// as t (read before the command) tells.
func endedState(t *UserTask) string {
	if t.State == TaskCreated {
		return "completed or cancelled"
	}
	return string(t.State)
}
