package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/engine"
)

// /engine-rest process instances (the running ones, as in Camunda) and
// their variables.

// camundaInstanceRows lists the active instances of the query:
// processInstanceIds, businessKey, businessKeyLike, processDefinitionId,
// processDefinitionKey, processDefinitionKeyIn, superProcessInstance,
// withIncident, active and suspended (Baton suspends nothing, so
// suspended=true lists none).
func (s *Server) camundaInstanceRows(c echo.Context, need int) ([]*engine.Instance, error) {
	ctx := c.Request().Context()
	suspended, err := camundaBool(c, "suspended")
	if err != nil {
		return nil, err
	}
	if _, err := camundaBool(c, "active"); err != nil {
		return nil, err
	}
	withIncident, err := camundaBool(c, "withIncident")
	if err != nil {
		return nil, err
	}
	if suspended {
		return nil, nil
	}
	var incidents map[int64]bool
	if withIncident {
		incidents = map[int64]bool{}
		open, err := camundaCollect(-1, nil, func(in *engine.Incident) string { return engine.Cursor(in) }, func(pg engine.Page) ([]*engine.Incident, error) {
			return s.store.IncidentList(ctx, &engine.IncidentListParams{Page: pg, State: engine.IncidentOpen})
		})
		if err != nil {
			return nil, err
		}
		for _, in := range open {
			incidents[in.InstanceID] = true
		}
	}
	ids, keysIn := camundaList(c, "processInstanceIds"), camundaList(c, "processDefinitionKeyIn")
	bkLike, defID, super := c.QueryParam("businessKeyLike"), c.QueryParam("processDefinitionId"), c.QueryParam("superProcessInstance")
	keep := func(in *engine.Instance) bool {
		return (len(ids) == 0 || slices.Contains(ids, idString(in.ID))) && (len(keysIn) == 0 || slices.Contains(keysIn, in.Key)) &&
			(bkLike == "" || likeMatch(in.BusinessKey, bkLike)) && (defID == "" || idString(in.DefinitionID) == defID) &&
			(super == "" || idString(in.ParentInstanceID) == super) && (incidents == nil || incidents[in.ID])
	}
	return camundaCollect(need, keep, func(in *engine.Instance) string { return engine.Cursor(in) }, func(pg engine.Page) ([]*engine.Instance, error) {
		return s.store.InstanceList(ctx, &engine.InstanceListParams{Page: pg, State: engine.InstanceActive,
			Key: c.QueryParam("processDefinitionKey"), BusinessKey: c.QueryParam("businessKey")})
	})
}

func (s *Server) camundaInstances(c echo.Context) error {
	p, err := camundaPageOf(c)
	if err != nil {
		return err
	}
	srt, err := camundaSortOf(c, "instanceId", "definitionKey", "definitionId", "businessKey")
	if err != nil {
		return err
	}
	need := -1
	if srt.by == "" && p.max >= 0 {
		need = p.first + p.max
	}
	rows, err := s.camundaInstanceRows(c, need)
	if err != nil {
		return err
	}
	camundaSortRows(rows, srt, map[string]func(a, b *engine.Instance) int{
		"instanceId":    func(a, b *engine.Instance) int { return cmpInt(a.ID, b.ID) },
		"definitionKey": func(a, b *engine.Instance) int { return strings.Compare(a.Key, b.Key) },
		"definitionId":  func(a, b *engine.Instance) int { return cmpInt(a.DefinitionID, b.DefinitionID) },
		"businessKey":   func(a, b *engine.Instance) int { return strings.Compare(a.BusinessKey, b.BusinessKey) },
	})
	out := []camundaInstanceView{}
	for _, in := range camundaWindow(rows, p) {
		out = append(out, camundaInstanceOf(in))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) camundaInstanceCount(c echo.Context) error {
	rows, err := s.camundaInstanceRows(c, -1)
	if err != nil {
		return err
	}
	return camundaCount(c, len(rows))
}

// runningInstance returns the instance of the path's id while it runs;
// one that ended is, as in Camunda's runtime API, not found.
func (s *Server) runningInstance(c echo.Context) (*engine.Instance, error) {
	raw := c.Param("id")
	notFound := &camundaError{status: http.StatusNotFound, typ: "InvalidRequestException", msg: fmt.Sprintf("Process instance with id %s does not exist", raw)}
	id, err := camundaID(raw, "process instance")
	if err != nil {
		return nil, notFound
	}
	in, err := s.store.InstanceGet(c.Request().Context(), id)
	if errors.Is(err, engine.ErrNotFound) || err == nil && in.State != engine.InstanceActive {
		return nil, notFound
	}
	return in, err
}

func (s *Server) camundaInstance(c echo.Context) error {
	in, err := s.runningInstance(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, camundaInstanceOf(in))
}

// camundaDeleteInstance cancels a running instance.
func (s *Server) camundaDeleteInstance(c echo.Context) error {
	in, err := s.runningInstance(c)
	if err != nil {
		return err
	}
	if err := s.eng.Cancel(c.Request().Context(), in.ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// runningInstanceVars returns the variables of the scope of the path's
// running instance.
func (s *Server) runningInstanceVars(c echo.Context) (*engine.Instance, engine.Vars, error) {
	in, err := s.runningInstance(c)
	if err != nil {
		return nil, nil, err
	}
	vs, err := s.instanceVars(c.Request().Context(), in.ID)
	return in, vs, err
}

func (s *Server) camundaInstanceVariables(c echo.Context) error {
	_, vs, err := s.runningInstanceVars(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, camundaVarsOut(vs))
}

func (s *Server) camundaInstanceVariable(c echo.Context) error {
	in, vs, err := s.runningInstanceVars(c)
	if err != nil {
		return err
	}
	name := c.Param("varName")
	v, ok := vs[name]
	if !ok {
		return &camundaError{status: http.StatusNotFound, typ: "InvalidRequestException",
			msg: fmt.Sprintf("process instance variable with name %s does not exist in process instance %d", name, in.ID)}
	}
	return c.JSON(http.StatusOK, camundaValueOut(v))
}

// setInstanceVars writes vs into the scope of the running instance of the
// path (engine.SetVariables: one command, recorded in history).
func (s *Server) setInstanceVars(ctx context.Context, in *engine.Instance, vs engine.Vars) error {
	if len(vs) == 0 {
		return nil
	}
	return s.eng.SetVariables(ctx, &engine.SetVariablesParams{InstanceID: in.ID, Vars: vs})
}

func (s *Server) camundaPutInstanceVariable(c echo.Context) error {
	in, err := s.runningInstance(c)
	if err != nil {
		return err
	}
	var b camundaVar
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	name := c.Param("varName")
	v, err := camundaValueIn(name, b)
	if err != nil {
		return err
	}
	if err := s.setInstanceVars(c.Request().Context(), in, engine.Vars{name: v}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// camundaModifyBody is PatchVariablesDto.
type camundaModifyBody struct {
	Modifications map[string]camundaVar `json:"modifications"`
	Deletions     []string              `json:"deletions"`
}

// camundaModifyInstanceVariables is POST /process-instance/{id}/variables:
// it sets the modifications in one command. Baton does not delete the
// variables of a running instance: deletions are a 400.
func (s *Server) camundaModifyInstanceVariables(c echo.Context) error {
	in, err := s.runningInstance(c)
	if err != nil {
		return err
	}
	var b camundaModifyBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if len(b.Deletions) > 0 {
		return invalidRequest("deletions %s: Baton does not delete the variables of a running instance; set them to null instead", strings.Join(b.Deletions, ", "))
	}
	vs, err := camundaVarsIn(b.Modifications)
	if err != nil {
		return err
	}
	if err := s.setInstanceVars(c.Request().Context(), in, vs); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
