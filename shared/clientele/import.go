package clientele

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ImportHeader is the header an import file must start with.
var ImportHeader = []string{"email", "name", "company", "projects", "ratePerHour", "profile"}

// MaxImportRows bounds one import: each row is at most a few single
// transactions, and the whole import must finish inside one API call.
const MaxImportRows = 1000

// ImportRow is one valid data row of an import file.
type ImportRow struct {
	Line        int
	Email       string
	Name        *string
	Company     string
	Projects    []string // names, trimmed, without duplicates
	RatePerHour *float64
	Profile     string // a profile's name or id as written; "" for the built-in one
}

// ImportError is one problem of one row.
type ImportError struct {
	Line    int    `json:"line"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ParseImport reads an import file: the header row, then one user per row.
// Rows that are invalid come back as errors (line, field, message), the
// others as rows; a file that is not CSV, lacks the header or has more than
// MaxImportRows rows is an Error (Invalid, or TooLarge).
func ParseImport(body []byte) ([]ImportRow, []ImportError, error) {
	if !utf8.Valid(body) {
		return nil, nil, Errorf(Invalid, "the file is not UTF-8")
	}
	body = bytes.TrimPrefix(body, []byte("\ufeff")) // a BOM, as spreadsheets write
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, nil, Errorf(Invalid, "the file has no header row: want %s", strings.Join(ImportHeader, ","))
	}
	if len(head) != len(ImportHeader) {
		return nil, nil, Errorf(Invalid, "the header must be %s", strings.Join(ImportHeader, ","))
	}
	for i, h := range head {
		if !strings.EqualFold(strings.TrimSpace(h), ImportHeader[i]) {
			return nil, nil, Errorf(Invalid, "the header must be %s", strings.Join(ImportHeader, ","))
		}
	}
	var rows []ImportRow
	var errs []ImportError
	n := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if pe, ok := errors.AsType[*csv.ParseError](err); ok && pe.Err != csv.ErrFieldCount {
			return nil, nil, Errorf(Invalid, "the file is not valid CSV at line %d: %v", pe.Line, pe.Err)
		} else if err != nil && !ok {
			return nil, nil, Errorf(Invalid, "the file could not be read: %v", err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if n++; n > MaxImportRows {
			return nil, nil, Errorf(TooLarge, "an import holds at most %d rows", MaxImportRows)
		}
		if len(rec) != len(ImportHeader) {
			errs = append(errs, ImportError{line, "row", fmt.Sprintf("has %d fields, want %d", len(rec), len(ImportHeader))})
			continue
		}
		row, rowErrs := parseImportRow(line, rec)
		if len(rowErrs) > 0 {
			errs = append(errs, rowErrs...)
			continue
		}
		rows = append(rows, row)
	}
	return rows, errs, nil
}

func parseImportRow(line int, rec []string) (ImportRow, []ImportError) {
	row := ImportRow{Line: line}
	var errs []ImportError
	bad := func(field, format string, args ...any) {
		errs = append(errs, ImportError{line, field, fmt.Sprintf(format, args...)})
	}
	if email, err := NormalizeEmail(rec[0]); err != nil {
		bad("email", "the address %v", err)
	} else {
		row.Email = email
	}
	if name := strings.TrimSpace(rec[1]); name != "" {
		if n, err := CleanName(name); err != nil {
			bad("name", "%v", err)
		} else {
			row.Name = &n
		}
	}
	if c, err := CleanName(rec[2]); err != nil {
		bad("company", "%v", err)
	} else {
		row.Company = c
	}
	seen := map[string]bool{}
	for _, p := range strings.Split(rec[3], ";") {
		p = strings.TrimSpace(p)
		if p == "" || seen[NameKey(p)] {
			continue
		}
		seen[NameKey(p)] = true
		row.Projects = append(row.Projects, p)
	}
	if len(row.Projects) > MaxProjectsPerUser {
		bad("projects", "at most %d projects", MaxProjectsPerUser)
	}
	if v := strings.TrimSpace(rec[4]); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		switch {
		case err != nil || f != f:
			bad("ratePerHour", "must be a number")
		case f < 0 || f > MaxRate:
			bad("ratePerHour", "must be from 0 to %d", MaxRate)
		case len(row.Projects) == 0:
			bad("ratePerHour", "applies to the row's projects; there are none")
		default:
			row.RatePerHour = &f
		}
	}
	row.Profile = strings.TrimSpace(rec[5])
	return row, errs
}
