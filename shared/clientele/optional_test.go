package clientele

import (
	"encoding/json"
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
