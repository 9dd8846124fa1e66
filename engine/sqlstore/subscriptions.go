package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/batonbpm/baton/engine"
)

const subCols = `id, process_instance_id, element_instance_id, element_id, definition_id, kind, name, correlation_key, business_key, created_at`

func scanSubscription(r *sql.Rows) (*engine.Subscription, error) {
	sub := &engine.Subscription{}
	err := r.Scan(&sub.ID, &sub.InstanceID, &sub.ElementInstanceID, &sub.ElementID, &sub.DefinitionID, &sub.Kind, &sub.Name,
		&sub.CorrelationKey, &sub.BusinessKey, timeCol{&sub.CreatedAt})
	return sub, err
}

// saveSubscriptions inserts the instance's new subscriptions and deletes
// the closed ones; an instance that ended loses them all.
func (s *Store) saveSubscriptions(w *writer, c *engine.InstanceChanges, _ *locked) error {
	if ended(c) {
		if c.Created {
			return nil // none were stored
		}
		return w.exec(`DELETE FROM subscriptions WHERE process_instance_id = `, c.Instance.ID)
	}
	subs := lastByKey(c.Subscriptions, func(sub *engine.Subscription) int64 { return sub.ID })
	var open, closed []*engine.Subscription
	for _, sub := range subs {
		if sub.Closed {
			closed = append(closed, sub)
		} else {
			open = append(open, sub)
		}
	}
	err := w.insertRows(`INSERT INTO subscriptions (id, process_instance_id, element_instance_id, element_id, definition_id, kind, name, correlation_key, business_key, created_at)`,
		` ON CONFLICT (id) DO NOTHING`, 10, len(open), func(i int) error {
			sub := open[i]
			w.group(sub.ID, &w.inst, sub.ElementInstanceID, sub.ElementID, sub.DefinitionID, string(sub.Kind), sub.Name,
				sub.CorrelationKey, sub.BusinessKey, s.tv(sub.CreatedAt))
			return nil
		})
	if err != nil {
		return err
	}
	return w.deleteRows(`DELETE FROM subscriptions WHERE id IN `, 1, len(closed), func(i int) {
		w.arg(closed[i].ID)
	})
}

// SubscriptionFind implements engine.Store.
func (s *Store) SubscriptionFind(ctx context.Context, p *engine.SubscriptionFindParams) ([]*engine.Subscription, error) {
	var w where
	if p.DefinitionID != 0 {
		w.add(`definition_id = ? AND process_instance_id = 0`, p.DefinitionID)
		rows, err := s.query(ctx, `SELECT `+subCols+` FROM subscriptions`+w.String()+` ORDER BY created_at, id`, w.args...)
		out, err := scanAll(rows, err, scanSubscription)
		return out, translate(err, "find subscriptions")
	}
	w.add(`kind = ?`, string(p.Kind))
	w.add(`name = ?`, p.Name)
	if p.CorrelationKey != nil {
		w.add(`correlation_key = ?`, *p.CorrelationKey)
	}
	if p.Starts {
		w.add(`process_instance_id = 0`)
	} else {
		w.add(`process_instance_id <> 0`)
	}
	limit := ""
	if p.Limit > 0 {
		limit = fmt.Sprintf(" LIMIT %d", p.Limit)
	}
	rows, err := s.query(ctx, `SELECT `+subCols+` FROM subscriptions`+w.String()+` ORDER BY created_at, id`+limit, w.args...)
	out, err := scanAll(rows, err, scanSubscription)
	return out, translate(err, "find subscriptions")
}

// SubscriptionsSave implements engine.Store.
func (s *Store) SubscriptionsSave(ctx context.Context, subs []*engine.Subscription) error {
	if len(subs) == 0 {
		return nil
	}
	if !s.tx {
		return s.Tx(ctx, func(tx engine.Store) error { return tx.SubscriptionsSave(ctx, subs) })
	}
	exec := s.db.Statement.ConnPool.ExecContext
	for _, sub := range subs {
		if sub.InstanceID != 0 {
			return &engine.InvalidError{Field: "subscription", Reason: fmt.Sprintf("subscription %d belongs to instance %d: save it with the instance", sub.ID, sub.InstanceID)}
		}
		var err error
		if sub.Closed {
			_, err = exec(ctx, s.rebind(`DELETE FROM subscriptions WHERE id = ?`), sub.ID)
		} else {
			_, err = exec(ctx, s.rebind(`INSERT INTO subscriptions (`+subCols+`) VALUES (?, 0, 0, ?, ?, ?, ?, ?, '', ?) ON CONFLICT (id) DO NOTHING`),
				sub.ID, sub.ElementID, sub.DefinitionID, string(sub.Kind), sub.Name, sub.CorrelationKey, s.tv(sub.CreatedAt))
		}
		if err != nil {
			return translate(err, fmt.Sprintf("save subscription %d", sub.ID))
		}
	}
	return nil
}

const msgCols = `id, name, correlation_key, business_key, message_id, variables, state, expires_at, created_at`

func scanMessage(r *sql.Rows) (*engine.Message, error) {
	m := &engine.Message{}
	var vars []byte
	err := r.Scan(&m.ID, &m.Name, &m.CorrelationKey, &m.BusinessKey, &m.MessageID, &vars, &m.State, timeCol{&m.ExpiresAt}, timeCol{&m.CreatedAt})
	if err != nil {
		return nil, err
	}
	if len(vars) > 0 {
		v, err := decodeValue(vars)
		if err != nil {
			return nil, fmt.Errorf("message %d variables: %w", m.ID, err)
		}
		vs, _ := v.(map[string]any)
		m.Variables = vs
	}
	return m, nil
}

// MessagePut implements engine.Store.
func (s *Store) MessagePut(ctx context.Context, m *engine.Message) error {
	var vars any
	if len(m.Variables) > 0 {
		enc, err := encodeValue(map[string]any(m.Variables))
		if err != nil {
			return &engine.InvalidError{Field: "variables", Reason: err.Error()}
		}
		vars = enc
	}
	_, err := s.db.Statement.ConnPool.ExecContext(ctx, s.rebind(`INSERT INTO messages (`+msgCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		m.ID, m.Name, m.CorrelationKey, m.BusinessKey, m.MessageID, vars, string(m.State), s.tv(m.ExpiresAt), s.tv(m.CreatedAt))
	if err != nil {
		return translate(err, fmt.Sprintf("store message %q", m.Name))
	}
	return nil
}

// MessageGet implements engine.Store.
func (s *Store) MessageGet(ctx context.Context, messageID string) (*engine.Message, error) {
	rows, err := s.query(ctx, `SELECT `+msgCols+` FROM messages WHERE message_id = ? AND message_id <> ''`, messageID)
	m, err := scanOne(rows, err, scanMessage)
	if err != nil {
		return nil, notFound(err, "message", messageID, "get message")
	}
	return m, nil
}

// MessageTake implements engine.Store.
func (s *Store) MessageTake(ctx context.Context, name, key string, now time.Time) (*engine.Message, error) {
	if !s.tx && !s.sh.pg {
		var m *engine.Message
		err := s.Tx(ctx, func(tx engine.Store) (err error) {
			m, err = tx.MessageTake(ctx, name, key, now)
			return err
		})
		return m, err
	}
	skip := ""
	if s.sh.pg {
		skip = ` FOR UPDATE SKIP LOCKED`
	}
	rows, err := s.query(ctx, `UPDATE messages SET state = '`+string(engine.MessageConsumed)+`' WHERE id = (SELECT id FROM messages
WHERE name = ? AND correlation_key = ? AND state = '`+string(engine.MessageBuffered)+`' AND expires_at > ?
ORDER BY created_at, id LIMIT 1`+skip+`) RETURNING `+msgCols, name, key, s.tv(now))
	m, err := scanOne(rows, err, scanMessage)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, translate(err, fmt.Sprintf("take message %q", name))
	}
	return m, nil
}
