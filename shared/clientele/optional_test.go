package clientele

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestOptionalPtr: absent and null are both nil; a value is its pointer.
func TestOptionalPtr(t *testing.T) {
	tests := []struct {
		body string
		want *float64
	}{
		{`{}`, nil},
		{`{"v":null}`, nil},
		{`{"v":0}`, new(float64)},
	}
	for _, tt := range tests {
		var in struct {
			V Optional[float64] `json:"v"`
		}
		if err := json.Unmarshal([]byte(tt.body), &in); err != nil {
			t.Fatal(err)
		}
		got := in.V.Ptr()
		if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
			t.Errorf("%s: Ptr() = %v, want %v", tt.body, got, tt.want)
		}
	}
}

// TestApplyRequired: only an accepted value reaches next and ch; null and a
// rejected value are field errors that leave next as it was.
func TestApplyRequired(t *testing.T) {
	tests := []struct {
		name       string
		o          Optional[string]
		wantNext   string
		wantCh     Changes
		wantFields Fields
	}{
		{"absent", Optional[string]{Value: "New"}, "Old", Changes{}, nil},
		{"null", Optional[string]{Set: true, Null: true, Value: "New"}, "Old", Changes{},
			Fields{{Field: "name", Message: "must not be null"}}},
		{"rejected", Optional[string]{Set: true, Value: "  "}, "Old", Changes{},
			Fields{{Field: "name", Message: "is required"}}},
		{"same once cleaned", Optional[string]{Set: true, Value: " Old "}, "Old", Changes{}, nil},
		{"changed", Optional[string]{Set: true, Value: " New "}, "New",
			Changes{"name": {From: "Old", To: "New"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, ch := "Old", Changes{}
			var f Fields
			applyRequired("name", tt.o, "Old", &next, ch, &f, CleanName)
			if next != tt.wantNext {
				t.Errorf("next = %q, want %q", next, tt.wantNext)
			}
			if !reflect.DeepEqual(ch, tt.wantCh) {
				t.Errorf("changes = %v, want %v", ch, tt.wantCh)
			}
			if !reflect.DeepEqual(f, tt.wantFields) {
				t.Errorf("fields = %v, want %v", f, tt.wantFields)
			}
		})
	}
}
