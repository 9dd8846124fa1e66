package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sosodev/duration"

	"github.com/batonbpm/baton/engine"
)

type messageBody struct {
	Name           string          `json:"name"`
	CorrelationKey json.RawMessage `json:"correlationKey"`
	BusinessKey    string          `json:"businessKey"`
	// CorrelationVariables match instance variables (Camunda 7's correlationKeys).
	CorrelationVariables map[string]any `json:"correlationVariables"`
	Variables            map[string]any `json:"variables"`
	MessageID            string         `json:"messageId"`
	// TTL is an ISO 8601 duration ("PT1H") or milliseconds.
	TTL json.RawMessage `json:"ttl"`
}

type messageView struct {
	ProcessInstanceID string `json:"processInstanceId,omitempty"`
	ElementID         string `json:"elementId,omitempty"`
	Started           bool   `json:"started"`
	Buffered          bool   `json:"buffered"`
}

// publishMessage correlates a message: to a waiting subscription, a message
// start event, or the buffer for its time to live.
func (s *Server) publishMessage(c echo.Context) error {
	var b messageBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	key, err := scalarText("correlationKey", b.CorrelationKey)
	if err != nil {
		return err
	}
	ttl, err := parseTTL(b.TTL)
	if err != nil {
		return err
	}
	res, err := s.eng.CorrelateMessage(c.Request().Context(), &engine.MessageParams{Name: b.Name, CorrelationKey: key,
		BusinessKey: b.BusinessKey, CorrelationVariables: vars(b.CorrelationVariables), Vars: vars(b.Variables), MessageID: b.MessageID, TTL: ttl})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, messageView{ProcessInstanceID: idString(res.InstanceID), ElementID: res.ElementID,
		Started: res.Started, Buffered: res.Buffered})
}

// scalarText reads a JSON string or number as text ("" when absent).
func scalarText(field string, raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", &engine.InvalidError{Field: field, Reason: err.Error()}
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	}
	return "", &engine.InvalidError{Field: field, Reason: fmt.Sprintf("expected a string or a number, but got %s", raw)}
}

// parseTTL reads a time to live: an ISO 8601 duration or milliseconds.
func parseTTL(raw json.RawMessage) (time.Duration, error) {
	text, err := scalarText("ttl", raw)
	if err != nil || text == "" {
		return 0, err
	}
	if ms, err := strconv.ParseInt(text, 10, 64); err == nil {
		if ms < 0 {
			return 0, &engine.InvalidError{Field: "ttl", Reason: "must not be negative"}
		}
		return time.Duration(ms) * time.Millisecond, nil
	}
	d, err := duration.Parse(text)
	if err != nil {
		return 0, &engine.InvalidError{Field: "ttl", Reason: fmt.Sprintf("%q is neither milliseconds nor an ISO 8601 duration: %v", text, err)}
	}
	if d.Years != 0 || d.Months != 0 {
		return 0, &engine.InvalidError{Field: "ttl", Reason: fmt.Sprintf("%q: give days, hours, minutes or seconds, not years or months", text)}
	}
	return d.ToTimeDuration(), nil
}

type signalBody struct {
	Name      string         `json:"name"`
	Variables map[string]any `json:"variables"`
}

type signalView struct {
	Triggered int `json:"triggered"`
	Started   int `json:"started"`
}

// broadcastSignal delivers a signal to every subscription of its name and
// starts the processes with a signal start event of that name.
func (s *Server) broadcastSignal(c echo.Context) error {
	var b signalBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	res, err := s.eng.BroadcastSignal(c.Request().Context(), b.Name, vars(b.Variables))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, signalView{Triggered: res.Triggered, Started: res.Started})
}
