package clientele_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/jsonx"
)

// filler sets every field of a value at random (pointers nil or not, slices
// nil, empty or not), so that a field a hand-written codec forgets shows up
// as a difference from encoding/json.
type filler struct{ rnd *rand.Rand }

var strs = []string{"", "a", "Acme Corp", "ann@acme.example", `quote " back \ slash`, "<b>&amp;</b>", "tab\tnew\nline\r",
	"\x00\x01\x1f\x7f", "\b\f", "é ü 日本語 🙂", "\u2028\u2029", "bad \xff\xfe utf8", "\xed\xa0\x80", "01JD0Q8F3G5H7K9M1N3P5R7T9V"}

var zones = []*time.Location{time.UTC, time.FixedZone("", 5*3600+30*60), time.FixedZone("X", -8*3600)}

func (f filler) fill(v reflect.Value) {
	switch v.Interface().(type) {
	case time.Time:
		t := time.Unix(f.rnd.Int64N(400*365*86400)-100*365*86400, 0).In(zones[f.rnd.IntN(len(zones))])
		if f.rnd.IntN(2) == 0 {
			t = t.Add(time.Duration(f.rnd.Int64N(1e9)))
		}
		v.Set(reflect.ValueOf(t))
		return
	}
	switch v.Kind() {
	case reflect.String:
		s := strs[f.rnd.IntN(len(strs))]
		if f.rnd.IntN(3) == 0 {
			s += strs[f.rnd.IntN(len(strs))]
		}
		v.SetString(s)
	case reflect.Bool:
		v.SetBool(f.rnd.IntN(2) == 0)
	case reflect.Int:
		v.SetInt(f.rnd.Int64N(1<<40) - 1<<39)
	case reflect.Float64:
		fs := []float64{0, 1, -1, 0.5, 99.95, 1e-7, 123456789, 1e21, 1e20, -2.5e-300, math.MaxFloat64, math.SmallestNonzeroFloat64}
		x := fs[f.rnd.IntN(len(fs))]
		if f.rnd.IntN(2) == 0 {
			x = math.Float64frombits(f.rnd.Uint64())
			if math.IsNaN(x) || math.IsInf(x, 0) {
				x = 0
			}
		}
		v.SetFloat(x)
	case reflect.Pointer:
		if f.rnd.IntN(3) == 0 {
			v.SetZero()
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		f.fill(v.Elem())
	case reflect.Slice:
		n := f.rnd.IntN(4) - 1
		if n < 0 {
			v.SetZero()
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			f.fill(v.Index(i))
		}
	case reflect.Map:
		v.SetZero() // Permissions: json:"-" where it occurs here
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				f.fill(v.Field(i))
			}
		}
	default:
		panic("filler: no case for " + v.Type().String())
	}
}

type appender interface{ AppendJSON([]byte) []byte }

// TestAppendJSONMatchesMarshal: every hand-written writer gives the bytes
// json.Marshal gives, over random values of every field.
func TestAppendJSONMatchesMarshal(t *testing.T) {
	f := filler{rand.New(rand.NewPCG(1, 2))}
	for _, typ := range []any{clientele.Company{}, clientele.User{}, clientele.Address{}, clientele.UserProject{},
		clientele.Invite{}, clientele.Preferences{}} {
		t.Run(reflect.TypeOf(typ).Name(), func(t *testing.T) {
			for range 2000 {
				v := reflect.New(reflect.TypeOf(typ))
				f.fill(v.Elem())
				want, err := json.Marshal(v.Elem().Interface())
				if err != nil {
					t.Fatal(err)
				}
				if got := v.Elem().Interface().(appender).AppendJSON(nil); !bytes.Equal(got, want) {
					t.Fatalf("AppendJSON\n got %s\nwant %s", got, want)
				}
			}
		})
	}
}

// decoders are the types with a hand-written reader, each new.
var decoders = []func() any{
	func() any { return new(clientele.CompanyInput) },
	func() any { return new(clientele.UserPatch) },
	func() any { return new(clientele.Address) },
	func() any { return new(clientele.ProjectRate) },
}

// strict is encoding/json as the API used it: unknown fields refused, one
// value only.
func strict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return jsonx.ErrTrailing
	}
	return nil
}

func fast(body []byte, v any) error {
	var r jsonx.Reader
	r.Reset(body)
	v.(interface{ DecodeJSON(*jsonx.Reader) }).DecodeJSON(&r)
	return r.Finish()
}

// agree checks that both decoders accept the same bodies with the same
// result, and refuse the others for the same reason.
func agree(t *testing.T, body []byte, newV func() any) {
	t.Helper()
	want, got := newV(), newV()
	werr, gerr := strict(body, want), fast(body, got)
	if werr == nil && gerr == nil {
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("%q: decoded\n got %#v\nwant %#v", body, got, want)
		}
		return
	}
	if werr == nil || gerr == nil {
		t.Fatalf("%q: encoding/json %v, jsonx %v", body, werr, gerr)
	}
	var (
		wsyn *json.SyntaxError
		wtyp *json.UnmarshalTypeError
		gtyp *jsonx.TypeError
		gunk *jsonx.UnknownFieldError
		gsyn *jsonx.SyntaxError
	)
	switch {
	case errors.As(werr, &wsyn) || errors.Is(werr, io.ErrUnexpectedEOF) || errors.Is(werr, io.EOF) || strings.Contains(werr.Error(), "max depth"):
		if !errors.As(gerr, &gsyn) || gerr == jsonx.ErrTrailing {
			t.Fatalf("%q: encoding/json %v, jsonx %v", body, werr, gerr)
		}
	case errors.As(werr, &wtyp):
		if !errors.As(gerr, &gtyp) || gtyp.Field != wtyp.Field {
			t.Fatalf("%q: encoding/json %v (field %q), jsonx %v", body, werr, wtyp.Field, gerr)
		}
	case strings.HasPrefix(werr.Error(), "json: unknown field "):
		if !errors.As(gerr, &gunk) || werr.Error() != gerr.Error() {
			t.Fatalf("%q: encoding/json %v, jsonx %v", body, werr, gerr)
		}
	case werr == jsonx.ErrTrailing:
		if gerr != jsonx.ErrTrailing {
			t.Fatalf("%q: encoding/json %v, jsonx %v", body, werr, gerr)
		}
	default:
		t.Fatalf("%q: encoding/json %v (unclassified), jsonx %v", body, werr, gerr)
	}
}

var decodeSeeds = []string{
	`{"name":"Acme","type":"business","contactEmail":"a@b.co","website":"https://a.b","address":{"city":"X","country":null},"projectIds":["a","b"],"createUserGroup":true}`,
	`{"name":"Ann","title":null,"portalRate":99.5,"profileId":"client","projectRates":[{"projectId":"p","ratePerHour":1e2},{"projectId":"q","ratePerHour":null}],"addProjectIds":[],"notify":false}`,
	`{"NAME":"case","Type":"x","ſtreet":"long s","K":1}`, `{"name":null,"name":"x"}`, `{"name":"x","name":null}`,
	`{"projectRates":[{"projectId":"a","ratePerHour":1},{"projectId":"b"}],"projectRates":[{"projectId":"c"}]}`,
	`{"projectIds":["a","b","c"],"projectIds":["x"],"projectIds":["y",null]}`,
	`{"name":5}`, `{"name":"\u00e9\ud83d\ude42\ud800x"}`, `{"name":"bad \xff"}`, `{"na\u006de":"esc key"}`,
	`{"portalRate":"1"}`, `{"portalRate":1e400}`, `{"portalRate":-0}`, `{"portalRate":01}`, `{"portalRate":1.}`, `{"portalRate":.5}`,
	`{"address":5}`, `{"address":{"city":5,"zip":1}}`, `{"address":{"city":"x"},"address":null}`, `{"unknown":{"a":[1,{"b":null}]},"name":5}`,
	`{"name":5,"x":}`, `{"notify":nul}`, `{"notify":"true"}`, `{"addProjectIds":[1,"a"]}`, `{"addProjectIds":{}}`, `{"projectRates":[5]}`,
	`{"projectRates":[{"ratePerHour":"x"}]}`, `[]`, `"s"`, `5`, `null`, `{}`, `{} `, `{}{}`, `{} x`, `{`, `{"a"`, `{"a":`, `{"name":"x",}`,
	`{,}`, `{"name" "x"}`, `{"name":"x" "y":1}`, ` {"name":"x"} `, `{"name":"a\tb"}`, "{\"name\":\"a\tb\"}", `{"name":"\x"}`, `{"name":"\u12"}`,
	`{"name":"x"}]`, `{"addProjectIds":[,]}`, `{"addProjectIds":["a",]}`, `{"addProjectIds":["a" "b"]}`, `{"createUserGroup":tru}`,
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001), `{"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
}

func TestDecodeMatchesEncodingJSON(t *testing.T) {
	for _, s := range decodeSeeds {
		for _, newV := range decoders {
			agree(t, []byte(s), newV)
		}
	}
	// Random values written by encoding/json read back the same.
	f := filler{rand.New(rand.NewPCG(3, 4))}
	for _, newV := range []func() any{decoders[0], decoders[2], decoders[3]} {
		for range 1000 {
			v := newV()
			f.fill(reflect.ValueOf(v).Elem())
			body, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			agree(t, body, newV)
		}
	}
}

// FuzzDecodeMatchesEncodingJSON: whatever the bytes, the hand-written
// readers and encoding/json accept the same bodies with the same values
// and refuse the rest for the same reason (syntax, a field's type, an
// unknown field, trailing data).
func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, newV := range decoders {
			agree(t, body, newV)
		}
	})
}
