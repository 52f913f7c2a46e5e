package openapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestHistoryActionsDocumented: every history action the domain declares
// (a string constant "company.…" or "user.…" in shared/clientele) is named
// in HistoryEntry.action, so integrators reading the document see them all.
func TestHistoryActionsDocumented(t *testing.T) {
	doc, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	desc := doc.Components.Schemas["HistoryEntry"].Value.Properties["action"].Value.Description
	files, err := filepath.Glob("../clientele/*.go")
	if err != nil {
		t.Fatal(err)
	}
	action := regexp.MustCompile(`^(company|user)\.[a-z_]+$`)
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for _, v := range spec.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				s, _ := strconv.Unquote(lit.Value)
				if !action.MatchString(s) {
					continue
				}
				found++
				if !strings.Contains(desc, "`"+s+"`") {
					t.Errorf("history action %s is not in HistoryEntry.action's description", s)
				}
			}
			return true
		})
	}
	if found < 20 {
		t.Fatalf("found %d actions in shared/clientele, want the 20 or so it declares", found)
	}
}
