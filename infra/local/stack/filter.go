package stack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// filter is one FilterCriteria pattern of an event source mapping, matched
// as Lambda's event filtering does (EventBridge pattern syntax) against a
// record's JSON as the function would receive it: {"eventName": "INSERT",
// "dynamodb": {"NewImage": {"type": {"S": "export_job"}}}, ...}.
//
// What is implemented: nested objects (every key must match), lists of exact
// values (any may match: strings, numbers, booleans, null; a list in the
// record matches when one of its elements does), and the operators prefix,
// suffix, equals-ignore-case, anything-but (values) and exists. Any other
// operator ($or, numeric, wildcard, cidr...) is refused when compiling, so a
// template that starts using one fails the stack's start instead of
// filtering differently from Lambda.
type filter struct{ root map[string]*patternNode }

// patternNode is the pattern of one key: either nested fields or the
// conditions on a leaf value, ORed.
type patternNode struct {
	fields map[string]*patternNode
	conds  []condition
}

type condition struct {
	op    string // "equals", "prefix", "suffix", "equals-ignore-case", "anything-but", "exists"
	value any    // string, float64, bool or nil; for anything-but, []any; for exists, bool
}

// compileFilter parses a FilterCriteria pattern.
func compileFilter(pattern string) (*filter, error) {
	var v any
	dec := json.NewDecoder(strings.NewReader(pattern))
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("filter pattern %s: %w", pattern, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("filter pattern %s: not a JSON object", pattern)
	}
	root, err := compileFields(obj)
	if err != nil {
		return nil, fmt.Errorf("filter pattern %s: %w", pattern, err)
	}
	return &filter{root: root}, nil
}

func compileFields(obj map[string]any) (map[string]*patternNode, error) {
	fields := make(map[string]*patternNode, len(obj))
	for k, v := range obj {
		if strings.HasPrefix(k, "$") {
			return nil, fmt.Errorf("%s: not supported by the local stack", k)
		}
		switch v := v.(type) {
		case map[string]any:
			sub, err := compileFields(v)
			if err != nil {
				return nil, fmt.Errorf("%s.%w", k, err)
			}
			fields[k] = &patternNode{fields: sub}
		case []any:
			if len(v) == 0 {
				return nil, fmt.Errorf("%s: an empty list matches nothing", k)
			}
			n := &patternNode{}
			for _, c := range v {
				cond, err := compileCondition(c)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
				n.conds = append(n.conds, cond)
			}
			fields[k] = n
		default:
			return nil, fmt.Errorf("%s: a leaf must be a list of values, not %v", k, v)
		}
	}
	return fields, nil
}

func compileCondition(c any) (condition, error) {
	op, ok := c.(map[string]any)
	if !ok {
		return condition{op: "equals", value: c}, nil // a string, number, bool or null
	}
	if len(op) != 1 {
		return condition{}, fmt.Errorf("an operator object has one key, not %v", op)
	}
	var name string
	var arg any
	for name, arg = range op {
	}
	switch name {
	case "prefix", "suffix", "equals-ignore-case":
		if _, ok := arg.(string); !ok {
			return condition{}, fmt.Errorf("%s needs a string, not %v", name, arg)
		}
	case "exists":
		if _, ok := arg.(bool); !ok {
			return condition{}, fmt.Errorf("exists needs true or false, not %v", arg)
		}
	case "anything-but":
		list, ok := arg.([]any)
		if !ok {
			list = []any{arg}
		}
		for _, x := range list {
			if _, isObj := x.(map[string]any); isObj {
				return condition{}, errors.New("anything-but with an operator is not supported by the local stack")
			}
		}
		arg = list
	default:
		return condition{}, fmt.Errorf("operator %q is not supported by the local stack", name)
	}
	return condition{op: name, value: arg}, nil
}

// matchRecord reports whether the record (any JSON-encodable value, e.g. an
// events.DynamoDBEventRecord) passes one of filters; with none, every record
// passes, as with no FilterCriteria.
func matchRecord(filters []*filter, record any) (bool, error) {
	if len(filters) == 0 {
		return true, nil
	}
	b, err := json.Marshal(record)
	if err != nil {
		return false, err
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		return false, err
	}
	return slices.ContainsFunc(filters, func(f *filter) bool { return f.match(doc) }), nil
}

func (f *filter) match(doc map[string]any) bool { return matchFields(f.root, doc) }

func matchFields(fields map[string]*patternNode, doc map[string]any) bool {
	for k, n := range fields {
		v, present := doc[k]
		if !n.match(v, present) {
			return false
		}
	}
	return true
}

func (n *patternNode) match(v any, present bool) bool {
	if n.fields != nil {
		switch v := v.(type) {
		case map[string]any:
			return matchFields(n.fields, v)
		case []any: // a list of objects: one must match
			return slices.ContainsFunc(v, func(e any) bool { return n.match(e, true) })
		}
		return false
	}
	for _, c := range n.conds {
		if c.op == "exists" {
			if present == c.value.(bool) {
				return true
			}
			continue
		}
		if !present {
			continue
		}
		if list, ok := v.([]any); ok {
			if slices.ContainsFunc(list, c.matchValue) {
				return true
			}
		} else if c.matchValue(v) {
			return true
		}
	}
	return false
}

// matchValue matches one leaf value of the record (never a list).
func (c condition) matchValue(v any) bool {
	if _, isObj := v.(map[string]any); isObj {
		return false // a value list matches leaves only
	}
	s, isStr := v.(string)
	switch c.op {
	case "equals":
		return v == c.value // JSON numbers are float64 on both sides
	case "prefix":
		return isStr && strings.HasPrefix(s, c.value.(string))
	case "suffix":
		return isStr && strings.HasSuffix(s, c.value.(string))
	case "equals-ignore-case":
		return isStr && strings.EqualFold(s, c.value.(string))
	case "anything-but":
		return !slices.Contains(c.value.([]any), v)
	}
	return false
}
