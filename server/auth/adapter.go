package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	"gorm.io/gorm"
)

// rule is a row of casbin_rule.
type rule struct {
	ID    int64
	Ptype string
	V0    string
	V1    string
	V2    string
	V3    string
	V4    string
	V5    string
}

func (rule) TableName() string { return "casbin_rule" }

func (r *rule) values() []string {
	v := []string{r.Ptype, r.V0, r.V1, r.V2, r.V3, r.V4, r.V5}
	for len(v) > 1 && v[len(v)-1] == "" {
		v = v[:len(v)-1]
	}
	return v
}

func ruleOf(ptype string, values []string) (*rule, error) {
	if len(values) > 6 {
		return nil, fmt.Errorf("casbin rule %s %v: expected at most 6 values, but %d", ptype, values, len(values))
	}
	r := &rule{Ptype: ptype}
	for i, f := range []*string{&r.V0, &r.V1, &r.V2, &r.V3, &r.V4, &r.V5} {
		if i < len(values) {
			*f = values[i]
		}
	}
	return r, nil
}

// adapter is a casbin persist.Adapter over our casbin_rule table. casbin's
// gorm-adapter is not used: the only version served (v3.41) is built on
// casbin v3 and makes a v2 enforcer panic at start (see DESIGN.md), and the
// five methods casbin needs are a few lines of gorm.
type adapter struct{ db *gorm.DB }

var _ persist.Adapter = (*adapter)(nil)

func (a *adapter) LoadPolicy(m model.Model) error {
	var rows []rule
	if err := a.db.WithContext(context.Background()).Order("id").Find(&rows).Error; err != nil {
		return fmt.Errorf("load casbin policies: %w", err)
	}
	for i := range rows {
		if err := persist.LoadPolicyArray(rows[i].values(), m); err != nil {
			return fmt.Errorf("load casbin policy %v: %w", rows[i].values(), err)
		}
	}
	return nil
}

func (a *adapter) SavePolicy(m model.Model) error {
	return a.db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("1 = 1").Delete(&rule{}).Error; err != nil {
			return err
		}
		for _, sec := range []string{"p", "g"} {
			for ptype, ast := range m[sec] {
				for _, values := range ast.Policy {
					r, err := ruleOf(ptype, values)
					if err != nil {
						return err
					}
					if err := tx.Create(r).Error; err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

func (a *adapter) AddPolicy(sec, ptype string, values []string) error {
	r, err := ruleOf(ptype, values)
	if err != nil {
		return err
	}
	return a.db.Create(r).Error
}

func (a *adapter) RemovePolicy(sec, ptype string, values []string) error {
	r, err := ruleOf(ptype, values)
	if err != nil {
		return err
	}
	return a.db.Where("ptype = ? AND v0 = ? AND v1 = ? AND v2 = ? AND v3 = ? AND v4 = ? AND v5 = ?",
		r.Ptype, r.V0, r.V1, r.V2, r.V3, r.V4, r.V5).Delete(&rule{}).Error
}

func (a *adapter) RemoveFilteredPolicy(sec, ptype string, fieldIndex int, fieldValues ...string) error {
	if fieldIndex < 0 || fieldIndex+len(fieldValues) > 6 {
		return errors.New("casbin filter: expected fields within v0..v5")
	}
	q := a.db.Where("ptype = ?", ptype)
	for i, v := range fieldValues {
		if v != "" {
			q = q.Where(fmt.Sprintf("v%d = ?", fieldIndex+i), v)
		}
	}
	return q.Delete(&rule{}).Error
}
