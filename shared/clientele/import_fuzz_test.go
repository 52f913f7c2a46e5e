package clientele

import (
	"testing"
)

// FuzzParseImport: any body parses to rows, row errors or one Error of
// code Invalid or TooLarge, never a panic; every row is valid and every row
// error names a line within the file.
func FuzzParseImport(f *testing.F) {
	f.Add([]byte("email,name,company,projects,ratePerHour,profile\na@example.com,A,Co,P1;P2,12.5,client\n"))
	f.Add([]byte("email,name,company,projects,ratePerHour,profile\r\n\"a@example.com\",\"A, \"\"B\"\"\",Co,,,\r\n"))
	f.Add([]byte("\ufeffEMAIL,Name,Company,Projects,RatePerHour,Profile\nnope,,,x,NaN,admin\nshort\n"))
	f.Add([]byte("email,name\n"))
	f.Add([]byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, body []byte) {
		rows, errs, err := ParseImport(body)
		if err != nil {
			if c := ErrorCode(err); c != Invalid && c != TooLarge {
				t.Fatalf("error code %s: %v", c, err)
			}
			return
		}
		for _, r := range rows {
			if r.Email == "" || r.Company == "" || r.Line < 2 {
				t.Fatalf("invalid row accepted: %+v", r)
			}
			if _, err := NormalizeEmail(r.Email); err != nil {
				t.Fatalf("row with bad address %q", r.Email)
			}
		}
		for _, e := range errs {
			if e.Line < 2 || e.Field == "" || e.Message == "" {
				t.Fatalf("row error %+v", e)
			}
		}
	})
}
