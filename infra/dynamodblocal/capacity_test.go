package dynamodblocal

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func s(v string) any  { return map[string]any{"S": v} }
func n(v string) any  { return map[string]any{"N": v} }
func b(v string) any  { return map[string]any{"B": v} }
func l(vs ...any) any { return map[string]any{"L": vs} }
func m(it item) any   { return map[string]any{"M": map[string]any(it)} }
func set(typ string, vs ...string) any {
	members := make([]any, len(vs))
	for i, v := range vs {
		members[i] = v
	}
	return map[string]any{typ: members}
}

// sized returns an item of exactly size bytes (size >= 5): a key "PK" of
// "x" and a string "d" filling the rest.
func sized(size int, extra item) item {
	it := item{"PK": s("x")}
	for k, v := range extra {
		it[k] = v
	}
	it["d"] = s(strings.Repeat("d", size-ItemSize(it)-1))
	if ItemSize(it) != size {
		panic("sized")
	}
	return it
}

// TestItemSize: AWS's rules for the size of an item ("DynamoDB item sizes
// and formats").
func TestItemSize(t *testing.T) {
	tests := []struct {
		name string
		item item
		want int
	}{
		{"empty", item{}, 0},
		{"string: name + bytes", item{"PK": s("abc")}, 5},
		{"string: UTF-8 bytes, not runes", item{"n": s("é€")}, 1 + 2 + 3},
		{"empty string", item{"n": s("")}, 1},
		{"number: 3 digits", item{"n": n("123")}, 1 + 2 + 1},
		{"number: 4 digits", item{"n": n("1234")}, 1 + 2 + 1},
		{"number: zero", item{"n": n("0")}, 1 + 1},
		{"number: sign, point and zeros do not count", item{"n": n("-0.00120")}, 1 + 1 + 1},
		{"number: trailing zeros of an integer trimmed", item{"n": n("1000000")}, 1 + 1 + 1},
		{"number: exponent", item{"n": n("1.5E+10")}, 1 + 1 + 1},
		{"number: 38 digits", item{"n": n("12345678901234567890123456789012345678")}, 1 + 19 + 1},
		{"number: a Unix time in ms", item{"at": n("1764643200123")}, 2 + 7 + 1},
		{"binary: raw bytes", item{"b": b("AAEC")}, 1 + 3},
		{"bool", item{"ok": map[string]any{"BOOL": true}}, 2 + 1},
		{"null", item{"no": map[string]any{"NULL": true}}, 2 + 1},
		{"empty list", item{"l": l()}, 1 + 3},
		{"list: 3 + elements + 1 each", item{"l": l(s("ab"), n("1"))}, 1 + 3 + (2 + 1) + (2 + 1)},
		{"empty map", item{"m": m(item{})}, 1 + 3},
		{"map: 3 + names + values + 1 each", item{"m": m(item{"a": s("xy")})}, 1 + 3 + (1 + 2 + 1)},
		{"nested maps", item{"m": m(item{"a": s("xy"), "n": m(item{"b": map[string]any{"BOOL": false}})})},
			1 + 3 + (1 + 2 + 1) + (1 + (3 + (1 + 1 + 1)) + 1)},
		{"list of maps", item{"l": l(m(item{"k": s("v")}), m(item{}))}, 1 + 3 + ((3 + 1 + 1 + 1) + 1) + (3 + 1)},
		{"string set: sum of members", item{"s": set("SS", "a", "bc")}, 1 + 3},
		{"number set", item{"s": set("NS", "1", "22", "333")}, 1 + 2 + 2 + 3},
		{"binary set", item{"s": set("BS", "AA==", "AAE=")}, 1 + 1 + 2},
		{"several attributes", item{"PK": s("P#1"), "SK": s("META"), "count": n("42")}, 2 + 3 + 2 + 4 + 5 + 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ItemSize(tt.item); got != tt.want {
				t.Fatalf("size %d, want %d", got, tt.want)
			}
		})
	}
}

// TestUnits: reads in 4 KB units (eventually consistent half, transactional
// double), writes in 1 KB units (transactional double), at least one unit.
func TestUnits(t *testing.T) {
	reads := []struct {
		size              int
		consistent, trans bool
		want              float64
	}{
		{0, false, false, 0.5}, // an absent item or an empty page: the minimum
		{0, true, false, 1},
		{1, false, false, 0.5},
		{4096, false, false, 0.5},
		{4096, true, false, 1},
		{4097, false, false, 1},
		{4097, true, false, 2},
		{8192, true, false, 2},
		{8193, true, false, 3},
		{0, true, true, 2},
		{4096, true, true, 2},
		{4097, true, true, 4},
	}
	for _, tt := range reads {
		if got := float64(readHalves(tt.size, tt.consistent, tt.trans)) / 2; got != tt.want {
			t.Errorf("read %d bytes (consistent %v, transactional %v): %v units, want %v", tt.size, tt.consistent, tt.trans, got, tt.want)
		}
	}
	writes := []struct {
		size  int
		trans bool
		want  float64
	}{
		{0, false, 1}, // deleting an absent item
		{1, false, 1},
		{1024, false, 1},
		{1025, false, 2},
		{2048, false, 2},
		{2049, false, 3},
		{0, true, 2},
		{1024, true, 2},
		{1025, true, 4},
	}
	for _, tt := range writes {
		if got := float64(writeHalves(tt.size, tt.trans)) / 2; got != tt.want {
			t.Errorf("write %d bytes (transactional %v): %v units, want %v", tt.size, tt.trans, got, tt.want)
		}
	}
}

// TestIndexWrites: what a change of an item costs each global secondary
// index ("Global secondary indexes: writes").
func TestIndexWrites(t *testing.T) {
	sc := &schema{hash: "PK", rng: "SK", indexes: []index{
		{name: "GSI1", hash: "GSI1PK", rng: "GSI1SK", projection: "ALL"},
		{name: "GSI5", hash: "GSI5PK", rng: "GSI5SK", projection: "KEYS_ONLY"},
	}}
	keys := func(pk, sk string) item { return item{"GSI1PK": s(pk), "GSI1SK": s(sk)} }
	big := sized(3000, keys("a", "1"))
	tests := []struct {
		name          string
		before, after item
		gsi1, gsi5    float64
	}{
		{"not in the index before or after", item{"PK": s("x"), "v": s("1")}, item{"PK": s("x"), "v": s("2")}, 0, 0},
		{"new entry: one write of its size", nil, big, 3, 0},
		{"entry removed with the item: one write", big, nil, 3, 0},
		{"key attribute removed (sparse): one write, the delete", big, sized(3000, item{"GSI1PK": s("a")}), 3, 0},
		{"half a key is no entry", nil, item{"PK": s("x"), "GSI1PK": s("a")}, 0, 0},
		{"key changed: delete the old, put the new", big, sized(1000, keys("b", "1")), 3 + 1, 0},
		{"sort key changed", sized(1000, keys("a", "1")), sized(1000, keys("a", "2")), 2, 0},
		{"same key, other values: one write of the larger", big, sized(500, keys("a", "1")), 3, 0},
		{"exactly 1 KB", nil, sized(1024, keys("a", "1")), 1, 0},
		{"1 KB and a byte", nil, sized(1025, keys("a", "1")), 2, 0},
		{"unchanged: nothing", big, big, 0, 0},
		{"keys only: the keys' size, not the item's", nil, sized(3000, item{"SK": s("y"), "GSI5PK": s("r"), "GSI5SK": s("1")}), 0, 1},
		{"keys only: a non-key change writes nothing", sized(3000, item{"SK": s("y"), "GSI5PK": s("r"), "GSI5SK": s("1")}),
			sized(2000, item{"SK": s("y"), "GSI5PK": s("r"), "GSI5SK": s("1")}), 0, 0},
		{"keys only: a key change", sized(3000, item{"SK": s("y"), "GSI5PK": s("r"), "GSI5SK": s("1")}),
			sized(3000, item{"SK": s("y"), "GSI5PK": s("r"), "GSI5SK": s("2")}), 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g1 := float64(sc.indexWriteHalves(sc.indexes[0], tt.before, tt.after)) / 2
			g5 := float64(sc.indexWriteHalves(sc.indexes[1], tt.before, tt.after)) / 2
			if g1 != tt.gsi1 || g5 != tt.gsi5 {
				t.Fatalf("GSI1 %v, GSI5 %v write units; want %v, %v", g1, g5, tt.gsi1, tt.gsi5)
			}
		})
	}
}

// TestPrune: a Query asked again without its projection and filter keeps
// only the names and values its key condition uses.
func TestPrune(t *testing.T) {
	in := map[string]any{
		"KeyConditionExpression":    "#pk = :pk AND begins_with(SK, :h)",
		"ExpressionAttributeNames":  map[string]any{"#pk": "PK", "#pkx": "x", "#st": "status"},
		"ExpressionAttributeValues": map[string]any{":pk": s("a"), ":h": s("H#"), ":hh": s("z")},
	}
	pruneExpressionAttributes(in)
	got, _ := json.Marshal(in)
	want := `{"ExpressionAttributeNames":{"#pk":"PK"},"ExpressionAttributeValues":{":h":{"S":"H#"},":pk":{"S":"a"}},"KeyConditionExpression":"#pk = :pk AND begins_with(SK, :h)"}`
	if string(got) != want {
		t.Fatalf("got %s", got)
	}
}

// TestCapacityAgainstLocal runs requests through a proxy in front of
// DynamoDB Local asking ReturnConsumedCapacity=INDEXES, checks the proxy's
// figures (AWS's rules) and compares them with DynamoDB Local's (3.3.1),
// which departs from AWS's rules where a step says why: it charges nothing
// for an empty page nor for an absent item of a BatchGetItem, charges a
// transaction's ConditionCheck by 4 KB instead of 1 KB, doubles a
// transaction's index writes, and answers no ConsumedCapacity with a failed
// condition (on AWS the write is charged).
func TestCapacityAgainstLocal(t *testing.T) {
	srv, err := Shared()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProxy(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	p.Meter(true)
	front := httptest.NewServer(p)
	defer front.Close()
	key := make([]byte, 8)
	_, _ = rand.Read(key)
	access := "cap" + hex.EncodeToString(key)
	call := func(op string, in map[string]any) (int, map[string]any) {
		body, _ := json.Marshal(in)
		req, _ := http.NewRequest(http.MethodPost, front.URL, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
		req.Header.Set("X-Amz-Date", "20260101T000000Z")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+access+"/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	const table = "capacity"
	attr := func(name string) map[string]any { return map[string]any{"AttributeName": name, "AttributeType": "S"} }
	keySchema := func(h, r string) []any {
		return []any{map[string]any{"AttributeName": h, "KeyType": "HASH"}, map[string]any{"AttributeName": r, "KeyType": "RANGE"}}
	}
	if status, out := call("CreateTable", map[string]any{"TableName": table, "BillingMode": "PAY_PER_REQUEST",
		"AttributeDefinitions": []any{attr("PK"), attr("SK"), attr("GSI1PK"), attr("GSI1SK"), attr("GSI5PK"), attr("GSI5SK")},
		"KeySchema":            keySchema("PK", "SK"),
		"GlobalSecondaryIndexes": []any{
			map[string]any{"IndexName": "GSI1", "KeySchema": keySchema("GSI1PK", "GSI1SK"), "Projection": map[string]any{"ProjectionType": "ALL"}},
			map[string]any{"IndexName": "GSI5", "KeySchema": keySchema("GSI5PK", "GSI5SK"), "Projection": map[string]any{"ProjectionType": "KEYS_ONLY"}},
		}}); status != 200 {
		t.Fatalf("create table: %d %v", status, out)
	}
	k := func(pk, sk string) item { return item{"PK": s(pk), "SK": s(sk)} }
	with := func(it item, more item) item {
		out := item{}
		for k, v := range it {
			out[k] = v
		}
		for k, v := range more {
			out[k] = v
		}
		return out
	}
	// A: 3,000 bytes, in GSI1.
	a := with(k("a", "1"), item{"GSI1PK": s("g"), "GSI1SK": s("1")})
	a["d"] = s(strings.Repeat("d", 3000-ItemSize(a)-1))
	// A2: A made small, in GSI1 under another key and in GSI5.
	a2 := with(k("a", "1"), item{"GSI1PK": s("h"), "GSI1SK": s("1"), "GSI5PK": s("r"), "GSI5SK": s("1")})
	get := func(key item, consistent bool) map[string]any {
		return map[string]any{"TableName": table, "Key": key, "ConsistentRead": consistent}
	}
	steps := []struct {
		name   string
		op     string
		in     map[string]any
		status int
		ours   figures
		local  figures // what DynamoDB Local answers; local == ours unless noted
		differ string  // why they differ; "" when they do not
	}{
		{"PutItem 3,000 bytes, new in GSI1", "PutItem", map[string]any{"TableName": table, "Item": a}, 200,
			figures{0, 3, map[string]float64{"GSI1": 3}}, figures{}, ""},
		{"PutItem over it, smaller: GSI1 key changed, new in GSI5", "PutItem", map[string]any{"TableName": table, "Item": a2}, 200,
			figures{0, 3, map[string]float64{"GSI1": 3 + 1, "GSI5": 1}}, figures{}, ""},
		{"UpdateItem of a non-key attribute", "UpdateItem", map[string]any{"TableName": table, "Key": k("a", "1"),
			"UpdateExpression": "SET v = :v", "ExpressionAttributeValues": map[string]any{":v": n("12")}}, 200,
			figures{0, 1, map[string]float64{"GSI1": 1}}, figures{}, ""},
		{"GetItem, eventually consistent", "GetItem", get(k("a", "1"), false), 200, figures{0.5, 0, nil}, figures{}, ""},
		{"GetItem, strongly consistent", "GetItem", get(k("a", "1"), true), 200, figures{1, 0, nil}, figures{}, ""},
		{"GetItem of an absent item", "GetItem", get(k("zz", "1"), true), 200, figures{1, 0, nil}, figures{}, ""},
		{"Query of GSI1, no items", "Query", map[string]any{"TableName": table, "IndexName": "GSI1",
			"KeyConditionExpression": "GSI1PK = :p", "ExpressionAttributeValues": map[string]any{":p": s("none")}}, 200,
			figures{0, 0, map[string]float64{"GSI1": 0.5}}, figures{0, 0, map[string]float64{"GSI1": 0}}, "an empty page: AWS charges the minimum, Local 0"},
		{"PutItem B, 5,000 bytes, same partition", "PutItem", map[string]any{"TableName": table, "Item": sized(5000, item{"PK": s("a"), "SK": s("2")})}, 200,
			figures{0, 5, nil}, figures{}, ""},
		{"Query of the partition: the items' sizes summed, rounded once", "Query", map[string]any{"TableName": table,
			"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": map[string]any{":p": s("a")}, "ConsistentRead": true}, 200,
			figures{2, 0, nil}, figures{}, ""},
		{"the same Query projecting the keys: whole items charged", "Query", map[string]any{"TableName": table,
			"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": map[string]any{":p": s("a")}, "ConsistentRead": true,
			"ProjectionExpression": "PK, SK"}, 200,
			figures{2, 0, nil}, figures{}, ""},
		{"GetItem of B projecting a key: the whole item charged", "GetItem", map[string]any{"TableName": table, "Key": k("a", "2"),
			"ConsistentRead": true, "ProjectionExpression": "SK"}, 200, figures{2, 0, nil}, figures{}, ""},
		{"TransactGetItems of A and an absent item", "TransactGetItems", map[string]any{"TransactItems": []any{
			map[string]any{"Get": map[string]any{"TableName": table, "Key": k("a", "1")}},
			map[string]any{"Get": map[string]any{"TableName": table, "Key": k("zz", "1")}}}}, 200,
			figures{4, 0, nil}, figures{}, ""},
		{"BatchGetItem of A, B and an absent item", "BatchGetItem", map[string]any{"RequestItems": map[string]any{
			table: map[string]any{"Keys": []any{k("a", "1"), k("a", "2"), k("zz", "1")}}}}, 200,
			figures{0.5 + 1 + 0.5, 0, nil}, figures{1.5, 0, nil}, "an absent item in a batch: AWS charges it, Local not"},
		{"TransactWriteItems: Put C in GSI1 + ConditionCheck of B", "TransactWriteItems", map[string]any{"TransactItems": []any{
			map[string]any{"Put": map[string]any{"TableName": table, "Item": with(k("c", "1"), item{"GSI1PK": s("g"), "GSI1SK": s("2")})}},
			map[string]any{"ConditionCheck": map[string]any{"TableName": table, "Key": k("a", "2"), "ConditionExpression": "attribute_exists(PK)"}}}}, 200,
			figures{0, 2 + 2*5, map[string]float64{"GSI1": 1}}, figures{0, 2 + 4, map[string]float64{"GSI1": 2}},
			"a transaction's ConditionCheck: AWS 2 write units per 1 KB (10 for 5,000 bytes), Local 2 per 4 KB (4); its index writes: AWS standard, Local doubled"},
		{"DeleteItem of B, condition fails", "DeleteItem", map[string]any{"TableName": table, "Key": k("a", "2"),
			"ConditionExpression": "attribute_not_exists(PK)"}, 400,
			figures{0, 5, nil}, figures{}, "a failed condition: AWS charges the write, Local answers no figures"},
		{"DeleteItem of A: out of GSI1 and GSI5", "DeleteItem", map[string]any{"TableName": table, "Key": k("a", "1")}, 200,
			figures{0, 1, map[string]float64{"GSI1": 1, "GSI5": 1}}, figures{}, ""},
		{"DeleteItem of an absent item", "DeleteItem", map[string]any{"TableName": table, "Key": k("a", "1")}, 200,
			figures{0, 1, nil}, figures{}, ""},
		{"BatchWriteItem: put D, delete C", "BatchWriteItem", map[string]any{"RequestItems": map[string]any{table: []any{
			map[string]any{"PutRequest": map[string]any{"Item": sized(1500, item{"PK": s("d"), "SK": s("1")})}},
			map[string]any{"DeleteRequest": map[string]any{"Key": k("c", "1")}}}}}, 200,
			figures{0, 2 + 1, map[string]float64{"GSI1": 1}}, figures{}, ""},
	}
	var differ []string
	for _, st := range steps {
		before := p.Capacity()
		in := st.in
		in["ReturnConsumedCapacity"] = "INDEXES"
		status, out := call(st.op, in)
		if status != st.status {
			t.Fatalf("%s: status %d, want %d: %v", st.name, status, st.status, out)
		}
		d := p.Capacity().Sub(before)
		got := figures{d.Table.Read, d.Table.Write, map[string]float64{}}
		for name, u := range d.Indexes {
			got.index[name] = u.Read + u.Write
		}
		if fmt.Sprint(got.read, got.write, got.index) != fmt.Sprint(st.ours.read, st.ours.write, nonNil(st.ours.index)) {
			t.Errorf("%s: proxy %v, want %v", st.name, got, st.ours)
		}
		local := localFigures(out["ConsumedCapacity"], st.op)
		want := st.local
		if st.differ == "" {
			want = st.ours
		} else if st.status != 200 {
			want = figures{index: map[string]float64{}}
		}
		if fmt.Sprint(local.read, local.write, local.index) != fmt.Sprint(want.read, want.write, nonNil(want.index)) {
			t.Errorf("%s: DynamoDB Local answered %v, expected %v", st.name, local, want)
		}
		if st.differ != "" {
			differ = append(differ, st.differ)
		}
	}
	t.Logf("where DynamoDB Local's ConsumedCapacity departs from AWS's rules:\n  %s", strings.Join(differ, "\n  "))
}

// figures are one request's units: the table's reads and writes, and each
// index's (writes, or reads for a Query of an index).
type figures struct {
	read, write float64
	index       map[string]float64
}

func nonNil(m map[string]float64) map[string]float64 {
	if m == nil {
		return map[string]float64{}
	}
	return m
}

// localFigures reads a ConsumedCapacity answer (one object, or a list of
// them for batches and transactions): the table's units, as reads or writes
// by op, and each index's.
func localFigures(cc any, op string) (f figures) {
	f.index = map[string]float64{}
	list, ok := cc.([]any)
	if !ok && cc != nil {
		list = []any{cc}
	}
	reads := strings.Contains(op, "Get") || op == "Query" || op == "Scan"
	for _, c := range list {
		c, _ := c.(map[string]any)
		tbl, _ := c["Table"].(map[string]any)
		units, _ := tbl["CapacityUnits"].(float64)
		if reads {
			f.read += units
		} else {
			f.write += units
		}
		gsis, _ := c["GlobalSecondaryIndexes"].(map[string]any)
		for name, g := range gsis {
			g, _ := g.(map[string]any)
			u, _ := g["CapacityUnits"].(float64)
			f.index[name] += u
		}
	}
	return f
}

// TestUnmeasured: a request whose items the proxy cannot read (upstream
// refuses its own requests) is counted, not guessed.
func TestUnmeasured(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutItem") {
			writeDynamo(w, http.StatusOK, map[string]any{})
			return
		}
		writeDynamo(w, http.StatusBadRequest, map[string]any{"__type": "com.amazon.coral.service#InvalidSignatureException"})
	}))
	defer upstream.Close()
	p, err := NewProxy(upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	p.Meter(true)
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"TableName":"t","Item":{"PK":{"S":"a"}}}`))
	r.Header.Set("X-Amz-Target", "DynamoDB_20120810.PutItem")
	w := httptest.NewRecorder()
	p.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if c := p.Capacity(); c.Unmeasured != 1 || c.Write() != 0 {
		t.Fatalf("got %+v", c)
	}
}
