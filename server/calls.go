package server

import (
	"context"

	"github.com/batonbpm/baton/engine"
)

// calledDepthMax bounds how deep calledIncidents looks into instances
// that call activities started.
const calledDepthMax = 16

// calledIncidents returns the open incidents of the active instances that
// the call activities of instance id started, and of those they started,
// level by level: a call activity waits while its child has an incident,
// and the child is where it is resolved.
func (s *Server) calledIncidents(ctx context.Context, id int64) ([]incidentView, error) {
	out := []incidentView{}
	level := []int64{id}
	for depth := 0; depth < calledDepthMax && len(level) > 0; depth++ {
		var next []int64
		for _, parent := range level {
			p := &engine.InstanceListParams{ParentInstanceID: parent, State: engine.InstanceActive, Page: engine.Page{Limit: engine.PageLimitDefault}}
			for {
				children, err := s.store.InstanceList(ctx, p)
				if err != nil {
					return nil, err
				}
				for _, ch := range children {
					next = append(next, ch.ID)
					incs, err := s.store.IncidentList(ctx, &engine.IncidentListParams{InstanceID: ch.ID, State: engine.IncidentOpen, Page: engine.Page{Limit: engine.PageLimitDefault}})
					if err != nil {
						return nil, err
					}
					for _, in := range incs {
						out = append(out, incidentOf(in))
					}
				}
				if len(children) < p.Limit {
					break
				}
				p.After = engine.Cursor(children[len(children)-1])
			}
		}
		level = next
	}
	return out, nil
}
