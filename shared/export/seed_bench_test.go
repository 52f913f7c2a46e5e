package export_test

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/truora/minidyn/core"
	"github.com/truora/minidyn/server"

	"github.com/clientele/clientele/infra/local/stack"
	"github.com/clientele/clientele/shared/clientele"
	"github.com/clientele/clientele/shared/clock"
	"github.com/clientele/clientele/shared/ids"
)

// Seeding minidyn item by item is quadratic: every new item is appended to
// the table's sorted key slice and to each index's (GSI1-GSI4 hold every
// user), and the slice is re-sorted with sort.Strings (core.Table.setItem,
// core.index.putData), at least one comparison per key already there. Five
// slices of up to n keys for each of n users: about 15 min for 100,000
// users, about a day for 1,000,000.
//
// bulkSeedUsers writes the users through the emulator's own BatchWriteItem
// path (SDK client, HTTP, minidyn's PutItem: its items, key maps and index
// references), 1,000 users at a time, but with those sorted slices set
// aside: between chunks it moves the (at most a chunk of) keys the Puts
// appended out to an accumulator, and at the end it sorts each
// accumulator once, with the keys that were there before, back into its
// slice. The result is the state item-by-item Puts produce (the same
// sorted slices, refs and items; TestBulkSeedMatchesPuts compares them),
// in about a minute for 1,000,000 users. Only the seeding is changed:
// reads go through minidyn unchanged.
func bulkSeedUsers(ctx context.Context, st *stack.Stack, pid string, users []clientele.User) error {
	t, mu := minidynTable(st.Dynamo, stack.Table)
	sorted := sortedKeySlices(t)
	saved := make([][]string, len(sorted))
	mu.Lock()
	for i, p := range sorted {
		saved[i], *p = *p, nil
	}
	mu.Unlock()
	const chunk = 1000
	for len(users) > 0 {
		n := min(chunk, len(users))
		err := st.Store.SeedUsers(ctx, pid, users[:n])
		mu.Lock()
		for i, p := range sorted {
			saved[i], *p = append(saved[i], *p...), (*p)[:0]
		}
		mu.Unlock()
		if err != nil {
			return err
		}
		users = users[n:]
	}
	mu.Lock()
	defer mu.Unlock()
	for i, p := range sorted {
		sort.Strings(saved[i])
		*p = saved[i]
	}
	return nil
}

// minidynTable returns the emulator's table and the lock of minidyn's
// client, which every request holds (server.Server.client is unexported).
func minidynTable(srv *server.Server, name string) (*core.Table, *sync.Mutex) {
	c := unexported(reflect.ValueOf(srv).Elem(), "client").Elem()
	mu := unexported(c, "mu").Addr().Interface().(*sync.Mutex)
	tables := unexported(c, "tables").Interface().(map[string]*core.Table)
	return tables[name], mu
}

// sortedKeySlices returns the table's sorted key slice and each index's,
// indexes in name order.
func sortedKeySlices(t *core.Table) []*[]string {
	out := []*[]string{&t.SortedKeys}
	for _, name := range slices.Sorted(maps.Keys(t.Indexes)) {
		out = append(out, unexported(reflect.ValueOf(t.Indexes[name]).Elem(), "sortedKeys").Addr().Interface().(*[]string))
	}
	return out
}

// indexRefs returns each index's map of primary key to index key.
func indexRefs(t *core.Table) []map[string]string {
	var out []map[string]string
	for _, name := range slices.Sorted(maps.Keys(t.Indexes)) {
		out = append(out, unexported(reflect.ValueOf(t.Indexes[name]).Elem(), "refs").Interface().(map[string]string))
	}
	return out
}

// unexported is the field name of the addressable struct v, made usable.
func unexported(v reflect.Value, name string) reflect.Value {
	f := v.FieldByName(name)
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// TestBulkSeedMatchesPuts: bulk seeding leaves minidyn in the state that
// seeding through its PutItem alone does.
func TestBulkSeedMatchesPuts(t *testing.T) {
	ctx := context.Background()
	var tables []*core.Table
	gen := ids.New(clock.System{}, nil)
	users := benchUsers(2500, gen.New)
	for _, bulk := range []bool{false, true} {
		st, err := stack.Start(ctx, stack.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		st.HoldStream(true)
		if bulk {
			err = bulkSeedUsers(ctx, st, "bench", users)
		} else {
			err = st.Store.SeedUsers(ctx, "bench", users)
		}
		if err != nil {
			t.Fatal(err)
		}
		tb, _ := minidynTable(st.Dynamo, stack.Table)
		tables = append(tables, tb)
	}
	a, b := tables[0], tables[1]
	as, bs := sortedKeySlices(a), sortedKeySlices(b)
	if len(as) != len(bs) || len(as) < 5 {
		t.Fatalf("%d and %d sorted slices", len(as), len(bs))
	}
	for i := range as {
		if !slices.Equal(*as[i], *bs[i]) {
			t.Errorf("sorted slice %d differs (%d and %d keys)", i, len(*as[i]), len(*bs[i]))
		}
	}
	if len(*as[0]) < len(users) {
		t.Errorf("%d table keys", len(*as[0]))
	}
	if !reflect.DeepEqual(indexRefs(a), indexRefs(b)) {
		t.Error("index refs differ")
	}
	if !slices.Equal(slices.Sorted(maps.Keys(a.Data)), slices.Sorted(maps.Keys(b.Data))) {
		t.Error("items differ")
	}
	for _, k := range *as[0] {
		if !strings.HasPrefix(k, "P#bench#") {
			continue
		}
		if !reflect.DeepEqual(a.Data[k], b.Data[k]) {
			t.Fatalf("item %s differs", k)
		}
	}
}
