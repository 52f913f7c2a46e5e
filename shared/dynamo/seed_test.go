package dynamo

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/clientele/clientele/infra/dynamodblocal"

	"github.com/clientele/clientele/shared/clientele"
)

// TestSeedUsersResendsUnprocessed: the one batch path (the benchmark's
// seeding) re-sends what BatchWriteItem leaves unprocessed until all is
// written (the proxy processes only half of each batch).
func TestSeedUsersResendsUnprocessed(t *testing.T) {
	s, proxy, _ := newStore(t)
	ctx := context.Background()
	var mu sync.Mutex
	batches := 0
	proxy.Inject(func(r dynamodblocal.Request) *dynamodblocal.Fault {
		if r.Op != "BatchWriteItem" {
			return nil
		}
		mu.Lock()
		batches++
		mu.Unlock()
		return &dynamodblocal.Fault{Unprocessed: true}
	})
	defer proxy.Inject(nil)
	users := make([]clientele.User, 60)
	for i := range users {
		users[i] = clientele.User{ID: s.NewID(), Email: fmt.Sprintf("u%d@example.com", i), CompanyID: "c", ProfileID: clientele.BuiltInProfile,
			Status: clientele.Invited, PortalAccess: true, Projects: []clientele.UserProject{}, CreatedAt: s.Now(), UpdatedAt: s.Now(), Version: 1}
	}
	if err := s.SeedUsers(ctx, "p1", users); err != nil {
		t.Fatal(err)
	}
	// 60 items are 3 batches of at most 25 when nothing is left over.
	if batches <= 3 {
		t.Fatalf("%d batches: nothing left unprocessed was re-sent", batches)
	}
	for _, u := range users {
		if got, err := s.GetUser(ctx, "p1", u.ID); err != nil || got.Email != u.Email {
			t.Fatalf("user %s: %+v, %v", u.ID, got, err)
		}
	}
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

// SeedUsers writes users (and their project list copies) with
// BatchWriteItem, 25 items a request, for the export benchmark: 100,000
// users in seconds rather than 100,000 transactions. It writes no guards,
// counters, search entries or history, so it is for throwaway tables only.
// It is test code (BenchmarkExport), and no function may use
// BatchWriteItem.
func (s *Store) SeedUsers(ctx context.Context, pid string, users []clientele.User) error {
	var batch []types.WriteRequest
	flush := func() error {
		for len(batch) > 0 {
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{s.table: batch}})
			if err != nil {
				return unavailable(err, "seed users")
			}
			batch = out.UnprocessedItems[s.table]
		}
		return nil
	}
	put := func(item map[string]types.AttributeValue) error {
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		if len(batch) == 25 {
			return flush()
		}
		return nil
	}
	for _, u := range users {
		if err := put(userToItem(pid, u)); err != nil {
			return err
		}
		for _, p := range u.Projects {
			if err := put(userCopy(pid, u, projectPK(pid, p.ProjectID), skMember+u.ID, "project_member", projectUsersPK(pid, p.ProjectID), false)); err != nil {
				return err
			}
		}
	}
	return flush()
}
