package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/engine"
)

// /engine-rest messages and signals.

// camundaMessageBody is CorrelationMessageDto. Baton has no tenants, and
// correlates by business key and by process variables (correlationKeys);
// tenantId, processInstanceId and the *Local fields are refused.
type camundaMessageBody struct {
	MessageName              string                `json:"messageName"`
	BusinessKey              string                `json:"businessKey"`
	TenantID                 string                `json:"tenantId"`
	WithoutTenantID          bool                  `json:"withoutTenantId"`
	ProcessInstanceID        string                `json:"processInstanceId"`
	CorrelationKeys          map[string]camundaVar `json:"correlationKeys"`
	LocalCorrelationKeys     map[string]camundaVar `json:"localCorrelationKeys"`
	ProcessVariables         map[string]camundaVar `json:"processVariables"`
	ProcessVariablesLocal    map[string]camundaVar `json:"processVariablesLocal"`
	All                      bool                  `json:"all"`
	ResultEnabled            bool                  `json:"resultEnabled"`
	VariablesInResultEnabled bool                  `json:"variablesInResultEnabled"`
}

// camundaMessageResult is MessageCorrelationResultWithVariableDto.
type camundaMessageResult struct {
	ResultType      string                    `json:"resultType"`
	Execution       *camundaExecutionView     `json:"execution"`
	ProcessInstance *camundaInstanceView      `json:"processInstance"`
	Variables       map[string]camundaVarView `json:"variables,omitempty"`
}

// camundaExecutionView is ExecutionDto; Baton's execution is the instance.
type camundaExecutionView struct {
	ID                string  `json:"id"`
	ProcessInstanceID string  `json:"processInstanceId"`
	Ended             bool    `json:"ended"`
	TenantID          *string `json:"tenantId"`
}

// camundaCorrelateMax bounds the correlations of one all=true message.
const camundaCorrelateMax = 10000

// camundaMessage is POST /message: it correlates the message to one
// waiting instance or message start event (all=false: none is a 400
// MismatchingMessageCorrelationException), or to every waiting instance
// and at most one start (all=true), and answers 204, or the results with
// resultEnabled.
func (s *Server) camundaMessage(c echo.Context) error {
	var b camundaMessageBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	switch {
	case b.MessageName == "":
		return invalidRequest("No message name supplied")
	case b.TenantID != "" || b.WithoutTenantID:
		return invalidRequest("tenantId, withoutTenantId: Baton has no tenants")
	case b.ProcessInstanceID != "":
		return invalidRequest("processInstanceId: Baton correlates messages by businessKey and correlationKeys")
	case len(b.LocalCorrelationKeys) > 0 || len(b.ProcessVariablesLocal) > 0:
		return invalidRequest("localCorrelationKeys, processVariablesLocal: Baton correlates and sets process variables only")
	}
	keys, err := camundaVarsIn(b.CorrelationKeys)
	if err != nil {
		return err
	}
	vs, err := camundaVarsIn(b.ProcessVariables)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var results []*engine.MessageResult
	for len(results) < camundaCorrelateMax {
		res, err := s.eng.CorrelateMessage(ctx, &engine.MessageParams{Name: b.MessageName, BusinessKey: b.BusinessKey, CorrelationVariables: keys, Vars: vs})
		if errors.Is(err, engine.ErrNotFound) {
			if len(results) == 0 && !b.All {
				return &camundaError{status: http.StatusBadRequest, typ: "MismatchingMessageCorrelationException",
					msg: fmt.Sprintf("Cannot correlate message '%s': No process definition or execution matches the parameters", b.MessageName)}
			}
			break
		}
		if err != nil {
			return err
		}
		results = append(results, res)
		if !b.All || res.Started {
			break
		}
	}
	if !b.ResultEnabled {
		return c.NoContent(http.StatusNoContent)
	}
	out := make([]camundaMessageResult, 0, len(results))
	for _, res := range results {
		r, err := s.camundaMessageResultOf(ctx, res, b.VariablesInResultEnabled)
		if err != nil {
			return err
		}
		out = append(out, r)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) camundaMessageResultOf(ctx context.Context, res *engine.MessageResult, withVars bool) (camundaMessageResult, error) {
	in, err := s.store.InstanceGet(ctx, res.InstanceID)
	if err != nil {
		return camundaMessageResult{}, err
	}
	r := camundaMessageResult{ResultType: "Execution"}
	if res.Started {
		v := camundaInstanceOf(in)
		r.ResultType, r.ProcessInstance = "ProcessDefinition", &v
	} else {
		r.Execution = &camundaExecutionView{ID: idString(in.ID), ProcessInstanceID: idString(in.ID), Ended: in.State != engine.InstanceActive}
	}
	if withVars {
		vs, err := s.instanceVars(ctx, in.ID)
		if err != nil {
			return camundaMessageResult{}, err
		}
		r.Variables = camundaVarsOut(vs)
	}
	return r, nil
}

// camundaSignalBody is SignalDto.
type camundaSignalBody struct {
	Name            string                `json:"name"`
	ExecutionID     string                `json:"executionId"`
	Variables       map[string]camundaVar `json:"variables"`
	TenantID        string                `json:"tenantId"`
	WithoutTenantID bool                  `json:"withoutTenantId"`
}

// camundaSignal is POST /signal: it broadcasts the signal to every
// waiting instance and signal start event, and answers 204.
func (s *Server) camundaSignal(c echo.Context) error {
	var b camundaSignalBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	switch {
	case b.Name == "":
		return invalidRequest("No signal name given")
	case b.TenantID != "" || b.WithoutTenantID:
		return invalidRequest("tenantId, withoutTenantId: Baton has no tenants")
	case b.ExecutionID != "":
		return invalidRequest("executionId: Baton broadcasts signals to every instance that waits for them")
	}
	vs, err := camundaVarsIn(b.Variables)
	if err != nil {
		return err
	}
	if _, err := s.eng.BroadcastSignal(c.Request().Context(), b.Name, vs); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
