package jsonx

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// SyntaxError is malformed JSON; decoding stops at it.
type SyntaxError struct {
	Msg    string
	Offset int // the byte it was found at
}

func (e *SyntaxError) Error() string { return "json: " + e.Msg + " at byte " + strconv.Itoa(e.Offset) }

// TypeError is a value of the wrong kind for its field ("" is the body
// itself). Decoding goes on, as with encoding/json, so that a syntax error
// further on still wins.
type TypeError struct {
	Field string // dotted path of JSON names
	Want  string // "a string", "a number", ...
}

func (e *TypeError) Error() string { return "json: " + e.Field + " must be " + e.Want }

// UnknownFieldError is a member no field takes.
type UnknownFieldError struct{ Field string }

func (e *UnknownFieldError) Error() string { return "json: unknown field " + strconv.Quote(e.Field) }

// ErrTrailing is data after the body's one value.
var ErrTrailing = &SyntaxError{Msg: "data after the JSON value"}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// Fields names the members of an object type, in the order its decoder
// numbers them.
type Fields struct{ names []string }

// NewFields returns the member names of a type.
func NewFields(names ...string) *Fields { return &Fields{names: names} }

// index finds key's field as encoding/json does: an exact match first,
// then a case-insensitive one.
func (f *Fields) index(key []byte) int {
	for i, n := range f.names {
		if string(key) == n {
			return i
		}
	}
	var kb, nb [32]byte
	k := appendFolded(kb[:0], key)
	for i, n := range f.names {
		if string(appendFolded(nb[:0], []byte(n))) == string(k) {
			return i
		}
	}
	return -1
}

// appendFolded is encoding/json's case folding of member names: ASCII
// letters upper-cased, other runes to the upper case of their lower case.
func appendFolded(out, in []byte) []byte {
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		out = utf8.AppendRune(out, unicode.ToUpper(unicode.ToLower(r)))
		i += n
	}
	return out
}

// Reader decodes one JSON body. A type's decoder walks its members with
// Object and Next and reads each value with the typed methods; errors are
// kept in the reader and reported by Finish.
type Reader struct {
	data  []byte
	pos   int
	err   error // the first syntax error: everything after is skipped
	first error // the first type or unknown-field error
	stop  error // a type error inside an Unmarshaler: it outranks first
	path  [8]string
	depth int // objects open; path holds the first len(path) keys
}

// Reset starts reading data.
func (r *Reader) Reset(data []byte) { *r = Reader{data: data} }

// Finish reports the body's error, if any: a syntax error anywhere, then
// a type error inside an Unmarshaler, then the first type or unknown-field
// error, then data after the value.
func (r *Reader) Finish() error {
	if r.err != nil {
		return r.err
	}
	if r.stop != nil {
		return r.stop
	}
	if r.first != nil {
		return r.first
	}
	if r.peek(); r.pos < len(r.data) {
		return ErrTrailing
	}
	return nil
}

// peek skips whitespace and returns the next byte, 0 at the end (a NUL
// byte is 0 too, but never valid where a caller takes 0 for the end).
func (r *Reader) peek() byte {
	for r.pos < len(r.data) {
		switch c := r.data[r.pos]; c {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return c
		}
	}
	return 0
}

func (r *Reader) syntax(msg string) {
	if r.err == nil {
		r.err = &SyntaxError{Msg: msg, Offset: r.pos}
	}
	r.pos = len(r.data)
}

func (r *Reader) unexpected(where string) {
	if r.pos >= len(r.data) {
		r.syntax("unexpected end of JSON input")
		return
	}
	r.syntax("invalid character " + strconv.QuoteRune(rune(r.data[r.pos])) + " " + where)
}

func (r *Reader) field() string {
	n := min(r.depth, len(r.path))
	return strings.Join(r.path[:n], ".")
}

// semantic records a type or unknown-field error: the first one counts,
// and none after an Unmarshaler's.
func (r *Reader) semantic(err error) {
	if r.first == nil && r.stop == nil {
		r.first = err
	}
}

// Unmarshaler reads a value with read as encoding/json runs a type's
// UnmarshalJSON: a type error inside it ends decoding, so it outranks any
// type or unknown-field error before or after it (a syntax error still
// outranks it: encoding/json checks the syntax of the whole body first).
func Unmarshaler[T any](r *Reader, v *T, read func(*Reader, *T)) {
	before := r.first
	r.first = nil
	read(r, v)
	if r.first != nil && r.stop == nil {
		r.stop = r.first
	}
	r.first = before
}

// typeError records that the next value is not the kind wanted, and skips it.
func (r *Reader) typeError(want string) {
	r.semantic(&TypeError{Field: r.field(), Want: want})
	r.Skip()
}

// Object opens the object that is the next value and reads its first
// member's key, returning the member's field index, or -1 when the object
// is empty (or null, which leaves the target as it is, as encoding/json
// does; another kind of value is a type error). Call Next after reading
// each member's value.
func (r *Reader) Object(f *Fields) int {
	switch r.peek() {
	case '{':
		r.pos++
		if r.depth++; r.depth > maxDepth {
			r.syntax("exceeded max depth")
			return -1
		}
		if r.peek() == '}' {
			r.pos++
			r.depth--
			return -1
		}
		return r.member(f)
	case 'n':
		r.literal("null")
		return -1
	case 0:
		r.unexpected("looking for beginning of value")
		return -1
	}
	r.typeError("an object")
	return -1
}

// Next moves past the member just read to the next one, returning its
// field index, or -1 at the object's end.
func (r *Reader) Next(f *Fields) int {
	if r.err != nil {
		return -1
	}
	switch r.peek() {
	case ',':
		r.pos++
		return r.member(f)
	case '}':
		r.pos++
		r.depth--
		return -1
	}
	r.unexpected("after object key:value pair")
	return -1
}

// member reads a key and its colon; members no field takes are recorded as
// unknown and skipped.
func (r *Reader) member(f *Fields) int {
	for {
		if r.peek() != '"' {
			r.unexpected("looking for beginning of object key string")
			return -1
		}
		start, end, plain := r.str()
		if r.err != nil {
			return -1
		}
		key := r.data[start:end]
		if !plain {
			key = []byte(r.unquote(start, end))
		}
		if r.peek() != ':' {
			r.unexpected("after object key")
			return -1
		}
		r.pos++
		if i := f.index(key); i >= 0 {
			if r.depth <= len(r.path) {
				r.path[r.depth-1] = f.names[i]
			}
			return i
		}
		r.semantic(&UnknownFieldError{Field: string(key)})
		r.Skip()
		switch r.peek() {
		case ',':
			r.pos++
		case '}':
			r.pos++
			r.depth--
			return -1
		default:
			r.unexpected("after object key:value pair")
			return -1
		}
	}
}

// str reads a string token, returning where its contents lie between the
// quotes and whether they can be used as they are (no escapes, valid UTF-8).
func (r *Reader) str() (start, end int, plain bool) {
	start = r.pos + 1
	plain = true
	ascii := true
	for i := start; i < len(r.data); i++ {
		switch c := r.data[i]; {
		case c == '"':
			r.pos = i + 1
			if !ascii && !utf8.Valid(r.data[start:i]) {
				plain = false
			}
			return start, i, plain
		case c == '\\':
			plain = false
			i++
			if i >= len(r.data) {
				break
			}
			switch r.data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				for j := 1; j <= 4; j++ {
					if i+j >= len(r.data) || !isHex(r.data[i+j]) {
						r.pos = min(i+j, len(r.data))
						r.unexpected("in \\u hexadecimal character escape")
						return 0, 0, false
					}
				}
				i += 4
			default:
				r.pos = i
				r.unexpected("in string escape code")
				return 0, 0, false
			}
		case c < 0x20:
			r.pos = i
			r.unexpected("in string literal")
			return 0, 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	r.pos = len(r.data)
	r.syntax("unexpected end of JSON input")
	return 0, 0, false
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// unquote decodes a string with escapes or invalid UTF-8 (rare) with
// encoding/json itself, so surrogates and replacement runes come out the same.
func (r *Reader) unquote(start, end int) string {
	var s string
	if err := json.Unmarshal(r.data[start-1:end+1], &s); err != nil {
		r.syntax("invalid string")
	}
	return s
}

// String reads a string; null leaves *s as it is.
func (r *Reader) String(s *string) {
	switch r.peek() {
	case '"':
		start, end, plain := r.str()
		if r.err != nil {
			return
		}
		if plain {
			*s = string(r.data[start:end])
		} else {
			*s = r.unquote(start, end)
		}
	case 'n':
		r.literal("null")
	default:
		r.typeError("a string")
	}
}

// StringPtr reads a string or null (nil).
func (r *Reader) StringPtr(s **string) { readPtr(r, s, (*Reader).String) }

// Float reads a number; null leaves *f as it is.
func (r *Reader) Float(f *float64) {
	if tok, ok := r.numberToken(); ok {
		if v, err := strconv.ParseFloat(tok, 64); err != nil {
			r.semantic(&TypeError{Field: r.field(), Want: "a number"})
		} else {
			*f = v
		}
	}
}

// FloatPtr reads a number or null (nil).
func (r *Reader) FloatPtr(f **float64) { readPtr(r, f, (*Reader).Float) }

// Int reads an integer (a number with a fraction or exponent is a type
// error, as with encoding/json); null leaves *n as it is.
func (r *Reader) Int(n *int) {
	if tok, ok := r.numberToken(); ok {
		if v, err := strconv.ParseInt(tok, 10, strconv.IntSize); err != nil {
			r.semantic(&TypeError{Field: r.field(), Want: "a number"})
		} else {
			*n = int(v)
		}
	}
}

// numberToken reads a number and returns its text; null (read, nothing
// returned) and other kinds (a type error) report false.
func (r *Reader) numberToken() (string, bool) {
	switch c := r.peek(); {
	case c == '-' || '0' <= c && c <= '9':
		tok := r.number()
		return unsafe.String(unsafe.SliceData(tok), len(tok)), r.err == nil
	case c == 'n':
		r.literal("null")
	default:
		r.typeError("a number")
	}
	return "", false
}

// readPtr reads a value or null (nil) into *p, as encoding/json fills a
// pointer: into the value already there, if any.
func readPtr[T any](r *Reader, p **T, read func(*Reader, *T)) {
	if r.Null() {
		*p = nil
		return
	}
	if *p == nil {
		*p = new(T)
	}
	read(r, *p)
}

// Bool reads true or false; null leaves *b as it is.
func (r *Reader) Bool(b *bool) {
	switch r.peek() {
	case 't':
		if r.literal("true") {
			*b = true
		}
	case 'f':
		if r.literal("false") {
			*b = false
		}
	case 'n':
		r.literal("null")
	default:
		r.typeError("a boolean")
	}
}

// Null reads a null if it is the next value.
func (r *Reader) Null() bool {
	if r.peek() != 'n' {
		return false
	}
	return r.literal("null")
}

// Strings reads an array of strings; null is nil.
func (r *Reader) Strings(s *[]string) { Slice(r, s, (*Reader).String) }

// Slice reads an array into *s, each element with elem; null is nil. As
// encoding/json does, elements are decoded into those already there.
func Slice[T any](r *Reader, s *[]T, elem func(*Reader, *T)) {
	switch r.peek() {
	case 'n':
		if r.literal("null") {
			*s = nil
		}
		return
	case '[':
	case 0:
		r.unexpected("looking for beginning of value")
		return
	default:
		r.typeError("an array")
		return
	}
	r.pos++
	sl := *s
	i := 0
	if r.peek() == ']' {
		r.pos++
	} else {
		for {
			if i < cap(sl) {
				sl = sl[:i+1]
			} else {
				var zero T
				sl = append(sl[:i], zero)
			}
			elem(r, &sl[i])
			i++
			if r.err != nil {
				return
			}
			c := r.peek()
			r.pos++
			if c == ']' {
				break
			}
			if c != ',' {
				r.pos--
				r.unexpected("after array element")
				return
			}
		}
	}
	if i == 0 {
		sl = []T{}
	}
	*s = sl[:i]
}

// literal reads want (true, false or null).
func (r *Reader) literal(want string) bool {
	for i := 0; i < len(want); i++ {
		if r.pos >= len(r.data) || r.data[r.pos] != want[i] {
			r.unexpected("in literal " + want + " (expecting " + strconv.QuoteRune(rune(want[i])) + ")")
			return false
		}
		r.pos++
	}
	return true
}

// number reads a number token, checking JSON's grammar.
func (r *Reader) number() []byte {
	start := r.pos
	d := r.data
	i := r.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	digits := func() bool {
		j := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		return i > j
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case !digits():
		r.pos = i
		r.unexpected("in numeric literal")
		return nil
	}
	if i < len(d) && d[i] == '.' {
		i++
		if !digits() {
			r.pos = i
			r.unexpected("after decimal point in numeric literal")
			return nil
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if !digits() {
			r.pos = i
			r.unexpected("in exponent of numeric literal")
			return nil
		}
	}
	r.pos = i
	return d[start:i]
}

// Skip reads past the next value, whatever it is, checking its syntax.
func (r *Reader) Skip() { r.skip(r.depth) }

func (r *Reader) skip(depth int) {
	switch c := r.peek(); {
	case c == '"':
		r.str()
	case c == '-' || '0' <= c && c <= '9':
		r.number()
	case c == 't':
		r.literal("true")
	case c == 'f':
		r.literal("false")
	case c == 'n':
		r.literal("null")
	case c == '{' || c == '[':
		if depth++; depth > maxDepth {
			r.syntax("exceeded max depth")
			return
		}
		r.pos++
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		if r.peek() == end {
			r.pos++
			return
		}
		for {
			if c == '{' {
				if r.peek() != '"' {
					r.unexpected("looking for beginning of object key string")
					return
				}
				r.str()
				if r.err != nil {
					return
				}
				if r.peek() != ':' {
					r.unexpected("after object key")
					return
				}
				r.pos++
			}
			r.skip(depth)
			if r.err != nil {
				return
			}
			switch r.peek() {
			case ',':
				r.pos++
				continue
			case end:
				r.pos++
				return
			}
			if c == '{' {
				r.unexpected("after object key:value pair")
			} else {
				r.unexpected("after array element")
			}
			return
		}
	default:
		r.unexpected("looking for beginning of value")
	}
}
