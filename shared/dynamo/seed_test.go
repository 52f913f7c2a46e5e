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
