package export

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameRunes bounds a file name inside an archive (file systems allow 255
// bytes; the suffix and extension need room).
const maxNameRunes = 100

// reserved are names Windows refuses for a file, whatever the extension.
var reserved = map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true}

// SafeName turns a project name into a file name that every common file
// system accepts: path separators, characters Windows forbids and control
// characters become "_", leading and trailing dots and spaces go, white
// space collapses, the length is bounded and reserved device names are
// prefixed. An empty result becomes "project".
func SafeName(name string) string {
	var b strings.Builder
	space := false
	for _, r := range name {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case r == utf8.RuneError, unicode.IsControl(r), strings.ContainsRune(`<>:"/\|?*`, r):
			r = '_'
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	s := strings.Trim(b.String(), ". ")
	if utf8.RuneCountInString(s) > maxNameRunes {
		s = strings.TrimRight(string([]rune(s)[:maxNameRunes]), ". ")
	}
	if s == "" {
		return "project"
	}
	if reserved[strings.ToUpper(strings.SplitN(s, ".", 2)[0])] {
		s = "_" + s
	}
	return s
}

// Unique hands out file names that differ case-insensitively (as on macOS
// and Windows): the first "Name.csv", then "Name (2).csv", "Name (3).csv".
type Unique map[string]bool

// Name returns a free name for base with extension ext.
func (u Unique) Name(base, ext string) string {
	name := base + ext
	for i := 2; u[strings.ToLower(name)]; i++ {
		name = base + " (" + strconv.Itoa(i) + ")" + ext
	}
	u[strings.ToLower(name)] = true
	return name
}
