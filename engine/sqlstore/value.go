package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Variable values (and the old and new values in history) are stored as
// typed JSON: plain JSON where JSON says what the value is, so that the
// column stays readable and queryable, and a one-member tag object where it
// does not.
//
//	nil                       null
//	string                    "text"
//	bool                      true, false
//	int64                     an integer literal: 5, -9223372036854775808
//	float64                   a decimal literal that always has a point: 5.0, 1.5, 0.0001,
//	                          1000000000000000000000.0 (never an exponent, which
//	                          PostgreSQL's jsonb would rewrite without its point)
//	float64 NaN, ±Inf, -0     {"$float":"NaN"}, {"$float":"+Inf"}, {"$float":"-Inf"}, {"$float":"-0"}
//	time.Time                 {"$time":"2026-03-04T10:00:00.123456789+01:00"} (RFC 3339 with
//	                          nanoseconds and the offset; a zone's name is not kept)
//	map[string]any            a JSON object of encoded values, keys sorted; a map of
//	                          exactly one key that starts with "$" is wrapped as
//	                          {"$obj":{...}} so that it is never read as a tag
//	[]any                     a JSON array of encoded values
//
// Decoding reads numbers with UseNumber: a literal with '.', 'e' or 'E' is a
// float64, any other an int64, so int64 and float64 round-trip exactly, at any
// depth. PostgreSQL keeps the literal's scale in jsonb (1.0 stays 1.0).

// encodeValue returns the typed JSON of v.
func encodeValue(v any) (string, error) {
	b, err := appendValue(nil, v, 0)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// maxDepth bounds nesting, as the engine's NormalizeValue does.
const maxDepth = 100

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested deeper than %d levels", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case float64:
		switch {
		case math.IsNaN(x):
			return append(b, `{"$float":"NaN"}`...), nil
		case math.IsInf(x, 1):
			return append(b, `{"$float":"+Inf"}`...), nil
		case math.IsInf(x, -1):
			return append(b, `{"$float":"-Inf"}`...), nil
		case x == 0 && math.Signbit(x):
			return append(b, `{"$float":"-0"}`...), nil
		}
		start := len(b)
		b = strconv.AppendFloat(b, x, 'f', -1, 64)
		if !bytes.ContainsRune(b[start:], '.') {
			b = append(b, ".0"...)
		}
		return b, nil
	case time.Time:
		b = append(b, `{"$time":"`...)
		b = x.AppendFormat(b, time.RFC3339Nano)
		return append(b, `"}`...), nil
	case map[string]any:
		wrap := false
		if len(x) == 1 {
			for k := range x {
				wrap = strings.HasPrefix(k, "$")
			}
		}
		if wrap {
			b = append(b, `{"$obj":`...)
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, x[k], depth+1); err != nil {
				return nil, err
			}
		}
		b = append(b, '}')
		if wrap {
			b = append(b, '}')
		}
		return b, nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	return nil, fmt.Errorf("value of type %T cannot be stored, expected nil, string, int64, float64, bool, time.Time, map[string]any or []any", v)
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// decodeValue reads typed JSON written by encodeValue.
func decodeValue(data []byte) (any, error) {
	// The common scalars skip the JSON decoder.
	switch s := string(data); {
	case s == "null":
		return nil, nil
	case s == "true":
		return true, nil
	case s == "false":
		return false, nil
	case len(s) > 0 && (s[0] == '-' || s[0] >= '0' && s[0] <= '9'):
		return decodeNumber(json.Number(s))
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var raw any
	if err := d.Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode value %.40q: %w", data, err)
	}
	return fromJSON(raw)
}

func decodeNumber(n json.Number) (any, error) {
	if strings.ContainsAny(string(n), ".eE") {
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return nil, fmt.Errorf("decode float %q: %w", string(n), err)
		}
		return f, nil
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("decode integer %q: %w", string(n), err)
	}
	return i, nil
}

// fromJSON turns what encoding/json decoded into the engine's value types.
func fromJSON(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return decodeNumber(x)
	case []any:
		for i, e := range x {
			d, err := fromJSON(e)
			if err != nil {
				return nil, err
			}
			x[i] = d
		}
		return x, nil
	case map[string]any:
		if len(x) == 1 {
			if s, ok := x["$time"].(string); ok {
				t, err := time.Parse(time.RFC3339Nano, s)
				if err != nil {
					return nil, fmt.Errorf("decode time %q: %w", s, err)
				}
				return t, nil
			}
			if s, ok := x["$float"].(string); ok {
				switch s {
				case "NaN":
					return math.NaN(), nil
				case "+Inf":
					return math.Inf(1), nil
				case "-Inf":
					return math.Inf(-1), nil
				case "-0":
					return math.Copysign(0, -1), nil
				}
				return nil, fmt.Errorf("decode float %q: unknown tag", s)
			}
			if o, ok := x["$obj"].(map[string]any); ok {
				x = o
			}
		}
		for k, e := range x {
			d, err := fromJSON(e)
			if err != nil {
				return nil, err
			}
			x[k] = d
		}
		return x, nil
	}
	return v, nil // nil, string, bool
}
