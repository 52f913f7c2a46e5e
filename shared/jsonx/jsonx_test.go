package jsonx_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/clientele/clientele/shared/jsonx"
)

func marshal(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAppendMatchesMarshal(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		f := math.Float64frombits(rnd.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		if got, want := string(jsonx.AppendFloat(nil, f)), marshal(t, f); got != want {
			t.Fatalf("AppendFloat(%v) = %s, json.Marshal %s", f, got, want)
		}
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 1e-6, 9.99999e-7, 1e21, 1e20, 123.456, -5e-324, math.MaxFloat64} {
		if got, want := string(jsonx.AppendFloat(nil, f)), marshal(t, f); got != want {
			t.Fatalf("AppendFloat(%v) = %s, json.Marshal %s", f, got, want)
		}
	}
	if got := string(jsonx.AppendFloat(nil, math.NaN())); got != "null" {
		t.Fatalf("NaN: %s", got)
	}
	for range 20000 {
		b := make([]byte, rnd.IntN(12))
		for i := range b {
			b[i] = byte(rnd.IntN(256))
		}
		s := string(b)
		if got, want := string(jsonx.AppendString(nil, s)), marshal(t, s); got != want {
			t.Fatalf("AppendString(%q) = %s, json.Marshal %s", s, got, want)
		}
	}
	for range 2000 {
		tm := time.Unix(rnd.Int64N(1<<35), rnd.Int64N(1e9)).In(time.FixedZone("", (rnd.IntN(48)-24)*1800))
		if got, want := string(jsonx.AppendTime(nil, tm)), marshal(t, tm); got != want {
			t.Fatalf("AppendTime(%v) = %s, json.Marshal %s", tm, got, want)
		}
	}
	ss := []string{"a", "<b>"}
	var none []string
	var sp *string
	if got, want := string(jsonx.AppendStrings(nil, ss))+string(jsonx.AppendStrings(nil, none))+string(jsonx.AppendStringPtr(nil, sp)),
		marshal(t, ss)+marshal(t, none)+marshal(t, sp); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\u2028b", "\xff", "<&>", "\x00\x1f\"\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(jsonx.AppendString(nil, s)), marshal(t, s); got != want {
			t.Fatalf("AppendString(%q) = %s, json.Marshal %s", s, got, want)
		}
	})
}

// sample exercises every reader method.
type sample struct {
	N     int      `json:"n"`
	B     bool     `json:"b"`
	F     *float64 `json:"f"`
	S     *string  `json:"s"`
	List  []int    `json:"list"`
	Inner *sample  `json:"inner"`
}

var sampleFields = jsonx.NewFields("n", "b", "f", "s", "list", "inner")

func (s *sample) DecodeJSON(r *jsonx.Reader) {
	for i := r.Object(sampleFields); i >= 0; i = r.Next(sampleFields) {
		switch i {
		case 0:
			r.Int(&s.N)
		case 1:
			r.Bool(&s.B)
		case 2:
			r.FloatPtr(&s.F)
		case 3:
			r.StringPtr(&s.S)
		case 4:
			jsonx.Slice(r, &s.List, (*jsonx.Reader).Int)
		case 5:
			if r.Null() {
				s.Inner = nil
				continue
			}
			if s.Inner == nil {
				s.Inner = new(sample)
			}
			s.Inner.DecodeJSON(r)
		}
	}
}

func TestReader(t *testing.T) {
	f, s := 1.5, "x"
	tests := []struct {
		body string
		want sample
		err  error // nil, or an example of the error's type and field
	}{
		{`{"n":-3,"b":true,"f":1.5,"s":"x","list":[1,2],"inner":{"n":1,"list":[]}}`,
			sample{N: -3, B: true, F: &f, S: &s, List: []int{1, 2}, Inner: &sample{N: 1, List: []int{}}}, nil},
		{` { "N" : 4 , "list" : null } `, sample{N: 4}, nil},
		{`null`, sample{}, nil},
		{`{"n":1.5}`, sample{}, &jsonx.TypeError{Field: "n"}},
		{`{"n":1e2}`, sample{}, &jsonx.TypeError{Field: "n"}},
		{`{"n":99999999999999999999}`, sample{}, &jsonx.TypeError{Field: "n"}},
		{`{"inner":{"b":"yes"}}`, sample{}, &jsonx.TypeError{Field: "inner.b"}},
		{`{"list":[1,"2"]}`, sample{}, &jsonx.TypeError{Field: "list"}},
		{`[1]`, sample{}, &jsonx.TypeError{Field: ""}},
		{`{"zz":1}`, sample{}, &jsonx.UnknownFieldError{Field: "zz"}},
		{`{"zz":1,"n":"x"}`, sample{}, &jsonx.UnknownFieldError{Field: "zz"}},
		{`{"n":"x","zz":[}`, sample{}, &jsonx.SyntaxError{}},
		{`{"n":1} {}`, sample{}, jsonx.ErrTrailing},
		{`{"n":1`, sample{}, &jsonx.SyntaxError{}},
		{`{"s":"a` + "\x01" + `"}`, sample{}, &jsonx.SyntaxError{}},
		{`{"f":-}`, sample{}, &jsonx.SyntaxError{}},
		{`{"b":truth}`, sample{}, &jsonx.SyntaxError{}},
	}
	for _, tt := range tests {
		var got sample
		var r jsonx.Reader
		r.Reset([]byte(tt.body))
		got.DecodeJSON(&r)
		err := r.Finish()
		if tt.err == jsonx.ErrTrailing {
			if err != jsonx.ErrTrailing {
				t.Errorf("%s: got %v, want %v", tt.body, err, tt.err)
			}
			continue
		}
		switch want := tt.err.(type) {
		case nil:
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s: got %+v, %v; want %+v", tt.body, got, err, tt.want)
			}
		case *jsonx.TypeError:
			var te *jsonx.TypeError
			if !errors.As(err, &te) || te.Field != want.Field {
				t.Errorf("%s: got %v, want a type error of %q", tt.body, err, want.Field)
			}
		case *jsonx.UnknownFieldError:
			var ue *jsonx.UnknownFieldError
			if !errors.As(err, &ue) || ue.Field != want.Field {
				t.Errorf("%s: got %v, want unknown field %q", tt.body, err, want.Field)
			}
		case *jsonx.SyntaxError:
			var se *jsonx.SyntaxError
			if !errors.As(err, &se) || err == jsonx.ErrTrailing {
				t.Errorf("%s: got %v, want a syntax error", tt.body, err)
			}
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	body := []byte(`{"n":-3,"b":true,"f":1.5,"s":"some text","list":[1,2,3],"inner":{"n":1,"list":[]}}`)
	b.Run("jsonx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v sample
			var r jsonx.Reader
			r.Reset(body)
			v.DecodeJSON(&r)
			if r.Finish() != nil {
				b.Fatal()
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v sample
			if json.Unmarshal(body, &v) != nil {
				b.Fatal()
			}
		}
	})
}
