package dynamo

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/truora/minidyn/server"

	"github.com/clientele/clientele/shared/clientele"
)

// TestSeedUsersResendsUnprocessed: the one batch path (the benchmark's
// seeding) re-sends what BatchWriteItem leaves unprocessed until all is
// written (minidyn's EmulateUnprocessedItems leaves every item out the
// first time it is sent).
func TestSeedUsersResendsUnprocessed(t *testing.T) {
	s, emu, _ := newStore(t)
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[string]bool{}
	emu.EmulateUnprocessedItems(table, func(_ int, item map[string]*server.AttributeValue) bool {
		mu.Lock()
		defer mu.Unlock()
		k := attrS(item["PK"]) + "|" + attrS(item["SK"])
		first := !seen[k]
		seen[k] = true
		return first
	})
	defer emu.ClearUnprocessedItems()
	users := make([]clientele.User, 60)
	for i := range users {
		users[i] = clientele.User{ID: s.NewID(), Email: fmt.Sprintf("u%d@example.com", i), CompanyID: "c", ProfileID: clientele.BuiltInProfile,
			Status: clientele.Invited, PortalAccess: true, Projects: []clientele.UserProject{}, CreatedAt: s.Now(), UpdatedAt: s.Now(), Version: 1}
	}
	if err := s.SeedUsers(ctx, "p1", users); err != nil {
		t.Fatal(err)
	}
	if len(seen) < len(users) {
		t.Fatalf("the emulator saw %d items, want at least %d: nothing was left unprocessed", len(seen), len(users))
	}
	for _, u := range users {
		if got, err := s.GetUser(ctx, "p1", u.ID); err != nil || got.Email != u.Email {
			t.Fatalf("user %s: %+v, %v", u.ID, got, err)
		}
	}
}

func attrS(v *server.AttributeValue) string {
	if v == nil || v.S == nil {
		return ""
	}
	return *v.S
}

func TestEachPage(t *testing.T) {
	pages := []Page[int]{{Items: []int{1, 2}, Next: map[string]string{"k": "1"}}, {Items: []int{3}, Next: map[string]string{"k": "2"}}, {Items: []int{4}}}
	stop := fmt.Errorf("stop")
	tests := []struct {
		name     string
		failList int // page whose read fails (-1: none)
		failEach int // page whose items fail (-1: none)
		want     []int
		err      error
	}{
		{"all pages", -1, -1, []int{1, 2, 3, 4}, nil},
		{"read fails", 1, -1, []int{1, 2}, stop},
		{"each fails", -1, 1, []int{1, 2, 3}, stop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			calls := 0
			err := EachPage(func(start map[string]string) (Page[int], error) {
				i := calls
				calls++
				if want := map[string]string(nil); i > 0 {
					want = pages[i-1].Next
					if start["k"] != want["k"] {
						t.Fatalf("page %d read from %v, want %v", i, start, want)
					}
				} else if start != nil {
					t.Fatalf("first page read from %v", start)
				}
				if i == tt.failList {
					return Page[int]{}, stop
				}
				return pages[i], nil
			}, func(items []int) error {
				got = append(got, items...)
				if calls-1 == tt.failEach {
					return stop
				}
				return nil
			})
			if err != tt.err || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v, %v; want %v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}
