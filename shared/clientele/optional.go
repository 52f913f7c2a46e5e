package clientele

import (
	"bytes"
	"encoding/json"
)

// Optional is a PATCH field: it tells "absent" (Set false) from "null"
// (Set and Null) from a value, which a plain pointer cannot.
type Optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSON is only called when the field is present, null included.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	// A repeated member replaces the earlier one: null, then a value, is the value.
	if o.Null = bytes.Equal(bytes.TrimSpace(b), []byte("null")); o.Null {
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// Ptr returns the value as a pointer, nil when null or absent.
func (o Optional[T]) Ptr() *T {
	if o.Null || !o.Set {
		return nil
	}
	v := o.Value
	return &v
}

// applyRequired applies o to a field that must not be null: it records the
// change in ch and sets *next only when clean accepts the value, and
// otherwise adds clean's error (or the null error) to f under field.
func applyRequired[T any](field string, o Optional[T], cur T, next *T, ch Changes, f *Fields, clean func(T) (T, error)) {
	if !o.Set {
		return
	}
	if o.Null {
		f.Add(field, "must not be null")
		return
	}
	v, err := clean(o.Value)
	if err != nil {
		f.Add(field, "%v", err)
		return
	}
	ch.Record(field, cur, v)
	*next = v
}
