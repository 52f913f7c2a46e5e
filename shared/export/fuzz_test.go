package export

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

// FuzzCell: any value written through the CSV writer reads back as one
// field, equal to the neutralised value, which never starts with a
// character a spreadsheet would evaluate.
func FuzzCell(f *testing.F) {
	for _, s := range []string{"=1+1", "+", "-", "@", "\t", "\r", "a,b", "\"q\"", "line\nbreak", "ü", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b bytes.Buffer
		c, err := NewCSV(&b)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Write(Row{Name: s}); err != nil {
			t.Fatal(err)
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&b).ReadAll()
		if err != nil || len(recs) != 2 || len(recs[1]) != len(Columns) {
			t.Fatalf("%q: %v %v", s, recs, err)
		}
		got := recs[1][1]
		// encoding/csv's reader drops carriage returns inside quoted
		// fields; compare without them.
		noCR := func(s string) string { return strings.ReplaceAll(s, "\r", "") }
		if noCR(got) != noCR(Cell(s)) {
			t.Fatalf("%q read back as %q", s, got)
		}
		if got != "" {
			switch got[0] {
			case '=', '+', '-', '@', '\t', '\r':
				t.Fatalf("%q starts a formula", got)
			}
		}
	})
}
