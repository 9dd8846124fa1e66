package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/batonbpm/baton/engine"
)

// SavedFilter is a task list query a user saved under a name, for
// themselves and the groups they share it with.
type SavedFilter struct {
	ID    int64
	Owner string
	Name  string
	// Query holds the query parameters of GET /api/v1/tasks the filter
	// applies, by name (a parameter may repeat).
	Query map[string][]string
	// Groups are the groups the filter is shared with, sorted.
	Groups    []string
	CreatedAt time.Time
}

type savedFilterRow struct {
	ID        int64 `gorm:"primaryKey"`
	Owner     string
	Name      string
	Query     string
	CreatedAt time.Time
}

func (savedFilterRow) TableName() string { return "saved_filters" }

type savedFilterGroup struct {
	FilterID  int64  `gorm:"primaryKey"`
	GroupName string `gorm:"primaryKey"`
}

func (savedFilterGroup) TableName() string { return "saved_filter_groups" }

// FilterCreate stores f, setting its ID and CreatedAt. A filter needs an
// owner and a name (ErrInvalid otherwise).
func (a *Auth) FilterCreate(ctx context.Context, f *SavedFilter) error {
	if f.Owner == "" || strings.TrimSpace(f.Name) == "" {
		return &engine.InvalidError{Field: "name", Reason: "a saved filter needs a name"}
	}
	q, err := json.Marshal(f.Query)
	if err != nil {
		return fmt.Errorf("save filter: %w", err)
	}
	f.Groups = slices.Compact(slices.Sorted(slices.Values(f.Groups)))
	f.CreatedAt = a.cfg.NowFunc().UTC().Truncate(time.Microsecond)
	return a.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row := &savedFilterRow{Owner: f.Owner, Name: f.Name, Query: string(q), CreatedAt: f.CreatedAt}
		if err := tx.Create(row).Error; err != nil {
			return fmt.Errorf("save filter: %w", err)
		}
		f.ID = row.ID
		for _, g := range f.Groups {
			if g == "" {
				continue
			}
			if err := tx.Create(&savedFilterGroup{FilterID: row.ID, GroupName: g}).Error; err != nil {
				return fmt.Errorf("share filter with %s: %w", g, err)
			}
		}
		return nil
	})
}

// FilterList returns the filters user owns and those shared with one of
// groups, in the order they were saved.
func (a *Auth) FilterList(ctx context.Context, user string, groups []string) ([]*SavedFilter, error) {
	db := a.db.WithContext(ctx)
	q := db.Where("owner = ?", user)
	if len(groups) > 0 {
		q = q.Or("id IN (?)", db.Model(&savedFilterGroup{}).Select("filter_id").Where("group_name IN ?", groups))
	}
	var rows []savedFilterRow
	if err := q.Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list filters: %w", err)
	}
	return a.filters(ctx, rows)
}

// FilterGet returns a filter, or an engine.NotFoundError.
func (a *Auth) FilterGet(ctx context.Context, id int64) (*SavedFilter, error) {
	var rows []savedFilterRow
	if err := a.db.WithContext(ctx).Where("id = ?", id).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("get filter %d: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, &engine.NotFoundError{What: "filter", ID: strconv.FormatInt(id, 10)}
	}
	fs, err := a.filters(ctx, rows)
	if err != nil {
		return nil, err
	}
	return fs[0], nil
}

// FilterDelete deletes a filter and its shares.
func (a *Auth) FilterDelete(ctx context.Context, id int64) error {
	return a.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("filter_id = ?", id).Delete(&savedFilterGroup{}).Error; err != nil {
			return fmt.Errorf("delete filter %d: %w", id, err)
		}
		res := tx.Where("id = ?", id).Delete(&savedFilterRow{})
		if res.Error != nil {
			return fmt.Errorf("delete filter %d: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return &engine.NotFoundError{What: "filter", ID: strconv.FormatInt(id, 10)}
		}
		return nil
	})
}

// filters reads the groups of rows and decodes them.
func (a *Auth) filters(ctx context.Context, rows []savedFilterRow) ([]*SavedFilter, error) {
	out := make([]*SavedFilter, 0, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]int64, len(rows))
	byID := map[int64]*SavedFilter{}
	for i, r := range rows {
		f := &SavedFilter{ID: r.ID, Owner: r.Owner, Name: r.Name, CreatedAt: r.CreatedAt.UTC(), Groups: []string{}}
		if err := json.Unmarshal([]byte(r.Query), &f.Query); err != nil {
			return nil, fmt.Errorf("filter %d: query: %w", r.ID, err)
		}
		ids[i] = r.ID
		byID[r.ID] = f
		out = append(out, f)
	}
	var gs []savedFilterGroup
	if err := a.db.WithContext(ctx).Where("filter_id IN ?", ids).Order("filter_id, group_name").Find(&gs).Error; err != nil {
		return nil, fmt.Errorf("groups of filters: %w", err)
	}
	for _, g := range gs {
		byID[g.FilterID].Groups = append(byID[g.FilterID].Groups, g.GroupName)
	}
	return out, nil
}

// errNotOwner is the error of deleting another's filter.
var errNotOwner = errors.New("only its owner or an admin may delete a filter")

// FilterDeleteAs deletes filter id for p: its owner, or an admin
// (ErrForbidden for anyone else; a filter p may not see is not found).
func (a *Auth) FilterDeleteAs(ctx context.Context, p *Principal, id int64) error {
	f, err := a.FilterGet(ctx, id)
	if err != nil {
		return err
	}
	if p.Role != RoleAdmin && f.Owner != p.Actor() {
		if !p.SeesFilter(f) {
			return &engine.NotFoundError{What: "filter", ID: strconv.FormatInt(id, 10)}
		}
		return fmt.Errorf("%w: %w", ErrForbidden, errNotOwner)
	}
	return a.FilterDelete(ctx, id)
}

// SeesFilter reports whether p may use f: its owner, a member of a group
// it is shared with, or an admin.
func (p *Principal) SeesFilter(f *SavedFilter) bool {
	if p.Role == RoleAdmin || f.Owner == p.Actor() {
		return true
	}
	for _, g := range f.Groups {
		if slices.Contains(p.Groups, g) {
			return true
		}
	}
	return false
}
